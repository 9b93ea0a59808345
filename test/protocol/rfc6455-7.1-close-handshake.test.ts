// RFC 6455 §7.1 and §5.5.1: the close handshake state machine of the sans-I/O Connection.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Connection, ReadyState, type ConnectionHandler } from "../../src/protocol/connection.js";
import { cat, clientFrame, closeBody, serverFrame } from "./feed.js";
import { parseWireFrames, type WireFrame } from "./wire-frames.js";

function connection(isServer = true): { conn: Connection; log: string[] } {
  const log: string[] = [];
  const handler: ConnectionHandler = {
    onMessage: (d) => void log.push(`message:${d}`),
    onPing: (d) => void log.push(`ping:${d}`),
    onPong: (d) => void log.push(`pong:${d}`),
    onCloseFrame: (c, r) => void log.push(`close:${c}:${r}`),
    onProtocolError: (e) => void log.push(`error:${e.closeCode}`),
    onOutput: () => void log.push("output"),
  };
  const maskSource = isServer ? undefined : (target: Uint8Array) => target.fill(0x5c);
  return { conn: new Connection(handler, { isServer, maxPayload: 1 << 20, maskSource }), log };
}

function closeCodeOf(frame: WireFrame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}

describe("RFC 6455 §7.1 the close handshake", () => {
  test("the peer closes first: its code is echoed, the state is CLOSED, later sends are refused", () => {
    const { conn, log } = connection();
    assert.equal(conn.readyState, ReadyState.OPEN);
    conn.receive(clientFrame({ opcode: 8, payload: closeBody(4001, "bye") }));
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out.length, 1);
    assert.equal(out[0].opcode, 8);
    assert.equal(closeCodeOf(out[0]), 4001);
    assert.equal(conn.readyState, ReadyState.CLOSED);
    assert.ok(conn.closeReceived && conn.closeSent);
    assert.equal(conn.closeCode, 4001);
    assert.equal(conn.closeReason, "bye");
    assert.deepEqual(log, ["output", "close:4001:bye"]);
    // RFC 6455 §5.5.1: no data frames after a close frame.
    assert.equal(conn.send("late", false), false);
    assert.equal(conn.sendFragment(1, "late", true), false);
    assert.equal(conn.sendRaw(serverFrame({ opcode: 1, payload: "raw" })), false);
    assert.equal(conn.close(1000), false);
    assert.equal(conn.takeOutput(), null);
  });

  test("an empty close frame (1005) is answered with an empty close frame", () => {
    const { conn, log } = connection();
    conn.receive(clientFrame({ opcode: 8 }));
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out.length, 1);
    assert.equal(out[0].payload.length, 0);
    assert.ok(log.includes("close:1005:"));
  });

  test("we close first: CLOSING until the peer's close, one close frame each way", () => {
    const { conn } = connection();
    assert.equal(conn.close(1000, "done"), true);
    assert.equal(conn.readyState, ReadyState.CLOSING);
    assert.equal(conn.close(1001), false, "a second close() sends nothing");
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out.length, 1);
    assert.equal(closeCodeOf(out[0]), 1000);
    assert.equal(out[0].payload.subarray(2).toString(), "done");
    assert.equal(conn.sentCloseCode, 1000);
    // Data still arriving before the peer's close is delivered (the peer may not have seen ours).
    conn.receive(cat(clientFrame({ opcode: 1, payload: "in flight" }), clientFrame({ opcode: 8, payload: closeBody(1000) })));
    assert.equal(conn.takeOutput(), null, "our close frame is not repeated");
    assert.equal(conn.readyState, ReadyState.CLOSED);
  });

  test("close() without a code sends an empty close frame", () => {
    const { conn } = connection();
    conn.close();
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out[0].opcode, 8);
    assert.equal(out[0].payload.length, 0);
  });

  test("a protocol error queues one close frame with its code; after our close it queues none", () => {
    const { conn, log } = connection();
    conn.receive(clientFrame({ opcode: 3 }));
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out.length, 1);
    assert.equal(closeCodeOf(out[0]), 1002);
    assert.equal(conn.readyState, ReadyState.CLOSING);
    assert.ok(log.includes("error:1002"));

    const second = connection();
    second.conn.close(1000);
    second.conn.takeOutput();
    second.conn.receive(clientFrame({ opcode: 1, payload: Uint8Array.of(0xff) }));
    assert.equal(second.conn.takeOutput(), null, "no second close frame");
    assert.ok(second.log.includes("error:1007"));
  });

  test("onOutput fires once when the queue goes from empty to non-empty", () => {
    const { conn, log } = connection();
    conn.send("a", false);
    conn.send("b", false);
    assert.deepEqual(log, ["output"]);
    conn.takeOutput();
    conn.ping();
    assert.deepEqual(log, ["output", "output"]);
  });

  test("a client connection masks its close frame and needs a mask source", () => {
    const { conn } = connection(false);
    conn.receive(serverFrame({ opcode: 8, payload: closeBody(1001, "away") }));
    const out = parseWireFrames(conn.takeOutput());
    assert.equal(out.length, 1);
    assert.ok(out[0].maskKey !== null, "RFC 6455 §5.3: client frames are masked");
    assert.equal(closeCodeOf(out[0]), 1001);
    assert.throws(() => new Connection({} as ConnectionHandler, { isServer: false, maxPayload: 1 }), TypeError);
  });

  test("destroy() drops queued output, marks the connection CLOSED and ignores later input", () => {
    for (const receivedBefore of [false, true]) {
      const { conn, log } = connection();
      if (receivedBefore) conn.receive(clientFrame({ opcode: 1, payload: "first" }));
      conn.send("queued", false);
      conn.destroy();
      assert.equal(conn.readyState, ReadyState.CLOSED);
      assert.equal(conn.takeOutput(), null);
      assert.equal(conn.receiveDone, true);
      const before = log.length;
      conn.receive(clientFrame({ opcode: 1, payload: "after destroy" }));
      assert.equal(log.length, before, `no events after destroy (received before: ${receivedBefore})`);
    }
  });
});
