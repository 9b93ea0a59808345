// Peers that stop taking part without closing: a half-open peer (reads nothing, sends
// nothing, never closes), a peer that never answers the close frame, and one that answers it
// but never closes TCP. Each is found within the configured time (backpressure, the idle
// timeout with its keepalive ping at half of it, the close timeout), its buffers are released,
// and a normal client on the same server keeps working.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { SendStatus } from "../../src/server/send-status.js";
import { connectRaw, encodeFrame, Opcode, closePayload, type RawClient, type RawFrame } from "../helpers/raw-client.js";
import { assertStillServes, countUncaught, sleep, socketClosed, startEchoServer, upgradedSocket, waitUntil, type EchoServer } from "./harness.js";

/** The server side of the only connection. */
function only(server: EchoServer): ServerWebSocket<unknown> {
  assert.equal(server.wss.clients.size, 1);
  return [...server.wss.clients][0];
}

/**
 * Sends 16 KiB messages to `ws` (yielding to the event loop between batches, so the socket
 * really writes) until `send` stops reporting `Sent`; bounded by 4096 messages (64 MiB).
 */
async function fillUntilBackpressure(ws: ServerWebSocket<unknown>): Promise<{ sent: number; last: number }> {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  for (let sent = 0; sent < 4096; sent++) {
    const status = ws.send(chunk);
    if (status !== SendStatus.Sent) return { sent, last: status };
    if (sent % 16 === 15) await sleep(1);
  }
  throw new Error("no backpressure after 64 MiB: the peer is reading");
}

/** Connects a half-open peer: handshake done, then it stops reading (and never writes or closes). */
async function halfOpenPeer(server: EchoServer): Promise<RawClient> {
  const peer = await connectRaw(server.port);
  peer.socket.pause();
  await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
  return peer;
}

describe("hardening: half-open peers", () => {
  test("drop policy: backpressure reported, then the idle timeout (400 ms) destroys it and frees its buffers", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { idleTimeout: 400, maxBackpressure: 64 * 1024, backpressurePolicy: "drop" });
    const peer = await halfOpenPeer(server);
    const ws = only(server);
    const { last } = await fillUntilBackpressure(ws);
    assert.equal(last, SendStatus.Backpressure, "the send that crossed maxBackpressure says so");
    assert.ok(ws.bufferedAmount > 64 * 1024, `bufferedAmount ${ws.bufferedAmount}`);
    const dropsBefore = server.wss.droppedMessages;
    assert.equal(ws.send("over the limit"), SendStatus.Dropped);
    assert.equal(server.wss.droppedMessages, dropsBefore + 1, "drops are counted");
    // Nothing arrives from the peer, not even a pong: gone within the idle timeout (+ wheel tick).
    await waitUntil(() => server.wss.clients.size === 0, "the idle timeout", 3000);
    assert.equal(ws.readyState, 3);
    assert.equal(ws.bufferedAmount, 0, "buffered data released");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    peer.destroy();
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test('"close" policy: going over maxBackpressure closes with 1008; the unread close is ended by the close timeout', async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { idleTimeout: 0, closeTimeout: 300, maxBackpressure: 64 * 1024, backpressurePolicy: "close" });
    const peer = await halfOpenPeer(server);
    const ws = only(server);
    await fillUntilBackpressure(ws);
    assert.equal(ws.send("over the limit"), SendStatus.Dropped);
    assert.equal(ws.readyState, 2, "CLOSING: the close frame (1008) is queued behind the data");
    await waitUntil(() => server.wss.clients.size === 0, "the close timeout", 3000);
    assert.equal(ws.bufferedAmount, 0, "buffered data released");
    // The peer never read, so the close frame never reached it: abnormal closure on our side.
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    // What the peer would read now ends with the 1008 close frame (nothing after it).
    peer.socket.resume();
    const frames: RawFrame[] = [];
    for (let i = 0; i < 10_000; i++) {
      const frame = await peer.nextFrame(3000).catch(() => null);
      if (frame === null) break;
      frames.push(frame);
      if (frame.opcode === Opcode.CLOSE) break;
    }
    const lastFrame = frames.at(-1);
    if (lastFrame !== undefined && lastFrame.opcode === Opcode.CLOSE) assert.equal(lastFrame.payload.readUInt16BE(0), 1008);
    peer.destroy();
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("a live but quiet peer is pinged at half the idle timeout; answering keeps it for 3 idle periods", async (t) => {
    const server = await startEchoServer(t, { idleTimeout: 400 });
    const peer = await connectRaw(server.port);
    await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
    let pings = 0;
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      const frame = await peer.nextFrame(1000);
      assert.equal(frame.opcode, Opcode.PING, "only keepalive pings arrive");
      pings++;
      peer.sendFrame({ opcode: Opcode.PONG, payload: frame.payload }); // RFC 6455 §5.5.3
    }
    assert.ok(pings >= 2, `${pings} pings`);
    assert.equal(server.wss.clients.size, 1, "still connected");
    peer.sendText("alive");
    assert.equal((await peer.nextFrame()).payload.toString(), "alive");
    peer.destroy();
    await assertStillServes(server.port);
  });
});

describe("hardening: close handshake that never completes", () => {
  test("a peer that reads our close frame but never answers it is destroyed after closeTimeout (300 ms)", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { closeTimeout: 300 });
    const peer = await connectRaw(server.port);
    await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
    only(server).close(1000, "bye");
    const close = await peer.nextFrame();
    assert.equal(close.opcode, Opcode.CLOSE);
    assert.equal(close.payload.readUInt16BE(0), 1000);
    // No answer: the server gives up and closes TCP itself.
    const { hadError } = await peer.closed(3000);
    void hadError;
    await waitUntil(() => server.wss.clients.size === 0, "the server to drop the connection");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("a peer that answers the close but never closes its side of TCP is destroyed after closeTimeout", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { closeTimeout: 300 });
    // A peer that keeps its half of TCP open after the server's FIN (allowHalfOpen).
    const peer = await upgradedSocket(server.port);
    const socket = peer.socket;
    t.after(() => void socket.destroy());
    socket.write(encodeFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000, "done") }));
    await waitUntil(() => peer.ended(), "the server's FIN after its close frame");
    assert.ok(peer.received().equals(Buffer.from([0x88, 0x02, 0x03, 0xe8])), "the echoed close frame");
    // The server saw a clean close (1000), but its socket lingers until the timeout.
    await waitUntil(() => server.wss.clients.size === 0, "the close timeout", 3000);
    assert.deepEqual(server.closes, [{ code: 1000, reason: "done" }]);
    // The server's socket is gone: writing to it now fails (RST), and our socket closes.
    // The first write draws the RST; a later one fails on it. Write until the socket closes.
    const writes = setInterval(() => void (socket.destroyed || socket.write(Buffer.alloc(16))), 10);
    try {
      await socketClosed(socket, 3000);
    } finally {
      clearInterval(writes);
    }
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });
});
