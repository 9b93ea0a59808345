// RFC 6455 §5.5: control frames in the receiver, and the Connection's answers to them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Connection, type ConnectionHandler } from "../../src/protocol/connection.js";
import { cat, clientFrame, closeBody, errorCode, feedEverySplit } from "./feed.js";
import { parseWireFrames } from "./wire-frames.js";

/** A server-side Connection recording its handler calls. */
function serverConnection(autoPong?: boolean): { conn: Connection; log: string[] } {
  const log: string[] = [];
  const handler: ConnectionHandler = {
    onMessage: (d) => void log.push(`message:${d}`),
    onPing: (d) => void log.push(`ping:${d}`),
    onPong: (d) => void log.push(`pong:${d}`),
    onCloseFrame: (c, r) => void log.push(`close:${c}:${r}`),
    onProtocolError: (e) => void log.push(`error:${e.closeCode}`),
    onOutput: () => void log.push("output"),
  };
  return { conn: new Connection(handler, { isServer: true, maxPayload: 1 << 20, autoPong }), log };
}

describe("RFC 6455 §5.5 control frames in the receiver", () => {
  for (const opcode of [8, 9, 10]) {
    test(`opcode ${opcode}: a 125-byte payload is accepted, 126 bytes (16-bit length) is 1002`, () => {
      const body = opcode === 8 ? closeBody(1000, "r".repeat(123)) : Buffer.alloc(125, 0x70);
      const ok = feedEverySplit(clientFrame({ opcode, payload: body }));
      assert.equal(ok.length, 1);
      assert.notEqual(ok[0].type, "error");
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: Buffer.alloc(126) }))), 1002);
      // A 7-bit-sized payload written with the 64-bit form is judged by its value, not its form.
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: Buffer.alloc(200), lengthBytes: 8 }))), 1002);
    });
  }

  test("ping and pong payloads are reported as sent (empty, binary, 125 bytes)", () => {
    const payloads = [Buffer.alloc(0), Buffer.from([0, 255, 1]), Buffer.alloc(125, 0xab)];
    for (const p of payloads) {
      const events = feedEverySplit(cat(clientFrame({ opcode: 9, payload: p }), clientFrame({ opcode: 10, payload: p })));
      assert.deepEqual(events.map((e) => e.type), ["ping", "pong"]);
      for (const e of events) assert.ok("data" in e && e.data.equals(p));
    }
  });

  test("close payloads: empty → 1005, code only, code with a UTF-8 reason", () => {
    assert.deepEqual(feedEverySplit(clientFrame({ opcode: 8 }))[0], { type: "close", code: 1005, reason: "", at: 6 });
    const codeOnly = feedEverySplit(clientFrame({ opcode: 8, payload: closeBody(1001) }))[0];
    assert.ok(codeOnly.type === "close" && codeOnly.code === 1001 && codeOnly.reason === "");
    const withReason = feedEverySplit(clientFrame({ opcode: 8, payload: closeBody(4000, "ünïcode ✓ 𝄞") }))[0];
    assert.ok(withReason.type === "close" && withReason.code === 4000 && withReason.reason === "ünïcode ✓ 𝄞");
  });

  test("a 1-byte close payload is 1002 (§5.5.1: a body starts with a 2-byte code)", () => {
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 8, payload: Buffer.from([0x03]) }))), 1002);
  });

  test("a close reason that is not UTF-8 is 1007 (§5.5.1, §8.1)", () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xce, 0xba, 0xe1, 0xbd], [0xe2, 0x82]]) {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 8, payload: closeBody(1000, Uint8Array.from(bad)) }))), 1007, Buffer.from(bad).toString("hex"));
    }
  });

  test("after a close frame nothing more is reported (§5.5.1)", () => {
    const events = feedEverySplit(cat(clientFrame({ opcode: 8, payload: closeBody(1000) }), clientFrame({ opcode: 1, payload: "late" }), clientFrame({ opcode: 9 }), clientFrame({ opcode: 3 })));
    assert.deepEqual(events.map((e) => e.type), ["close"]);
  });
});

describe("RFC 6455 §5.5.2-3 ping and pong in the Connection", () => {
  test("a ping is answered with a pong carrying the same payload", () => {
    for (const payload of [Buffer.alloc(0), Buffer.from("hello"), Buffer.alloc(125, 0x5a)]) {
      const { conn, log } = serverConnection();
      conn.receive(clientFrame({ opcode: 9, payload }));
      const out = parseWireFrames(conn.takeOutput());
      assert.equal(out.length, 1);
      assert.equal(out[0].opcode, 10);
      assert.ok(out[0].fin);
      assert.ok(out[0].payload.equals(payload));
      assert.ok(log.includes(`ping:${payload}`));
    }
  });

  test("every ping of a burst gets its own pong, in order", () => {
    const { conn } = serverConnection();
    conn.receive(cat(clientFrame({ opcode: 9, payload: "1" }), clientFrame({ opcode: 9, payload: "2" }), clientFrame({ opcode: 9, payload: "3" })));
    assert.deepEqual(parseWireFrames(conn.takeOutput()).map((f) => `${f.opcode}:${f.payload}`), ["10:1", "10:2", "10:3"]);
  });

  test("autoPong: false reports the ping and sends nothing", () => {
    const { conn, log } = serverConnection(false);
    conn.receive(clientFrame({ opcode: 9, payload: "hello" }));
    assert.equal(conn.takeOutput(), null);
    assert.deepEqual(log, ["ping:hello"]);
  });

  test("an unsolicited pong is reported and not answered (§5.5.3)", () => {
    const { conn, log } = serverConnection();
    conn.receive(clientFrame({ opcode: 10, payload: "beat" }));
    assert.equal(conn.takeOutput(), null);
    assert.deepEqual(log, ["pong:beat"]);
  });

  test("a ping that arrives after our close frame is not answered (nothing may follow a close frame)", () => {
    const { conn } = serverConnection();
    conn.close(1000);
    const out = parseWireFrames(conn.takeOutput());
    assert.deepEqual(out.map((f) => f.opcode), [8]);
    conn.receive(clientFrame({ opcode: 9, payload: "late" }));
    assert.equal(conn.takeOutput(), null);
  });

  test("ping() and pong() queue control frames until our close frame, then refuse", () => {
    const { conn } = serverConnection();
    assert.equal(conn.ping("p"), true);
    assert.equal(conn.pong("q"), true);
    conn.close(1000);
    assert.equal(conn.ping("x"), false);
    assert.equal(conn.pong("y"), false);
    assert.deepEqual(parseWireFrames(conn.takeOutput()).map((f) => `${f.opcode}:${f.payload.subarray(f.opcode === 8 ? 2 : 0)}`), ["9:p", "10:q", "8:"]);
  });
});
