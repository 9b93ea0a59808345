// Peers that reset the TCP connection (RST, `socket.resetAndDestroy()`) at the worst moments:
// in the middle of a frame, of the opening handshake, and of the close handshake. The server
// cleans the connection up (close handler: 1006, RFC 6455 §7.1.5 "abnormal closure"), throws
// nothing into the event loop, and keeps serving a normal client.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connectRaw, encodeFrame, Opcode } from "../helpers/raw-client.js";
import { assertStillServes, countUncaught, openTcp, startEchoServer, UPGRADE_HEAD, waitUntil } from "./harness.js";

describe("hardening: TCP resets", () => {
  test("mid-frame: 300 of a 1000-byte frame, then RST: closed with 1006, nothing delivered", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    const peer = await connectRaw(server.port);
    await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
    peer.write(encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(1000, 7) }).subarray(0, 300));
    await waitUntil(() => server.bytesRead() === peer.socket.bytesWritten, "the server to read the partial frame");
    peer.socket.resetAndDestroy();
    await waitUntil(() => server.wss.clients.size === 0, "the server to drop the connection");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    assert.equal(server.messages(), 0, "a partial frame is never delivered");
    await assertStillServes(server.port);
    assert.equal(server.messages(), 2, "only the normal client's two messages");
    assert.equal(uncaught(), 0);
  });

  test("mid-handshake: half a request head, then RST: no connection is created", async (t) => {
    const uncaught = countUncaught();
    let opened = 0;
    const server = await startEchoServer(t, { open: () => void opened++ });
    const socket = await openTcp(server.port);
    socket.write(UPGRADE_HEAD.slice(0, 60));
    await waitUntil(() => server.bytesRead() === 60, "the server to read the partial head");
    socket.resetAndDestroy();
    await waitUntil(() => server.tcpConnections() === 0, "the server to see the reset");
    await assertStillServes(server.port);
    assert.equal(opened, 1, "only the normal client was opened");
    await waitUntil(() => server.wss.clients.size === 0, "the normal client's connection to end");
    assert.equal(uncaught(), 0);
  });

  test("mid-handshake inside the upgrade hook: RST while the hook is pending; the late result is ignored", async (t) => {
    const uncaught = countUncaught();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let hookCalls = 0;
    let lateResult = false;
    const server = await startEchoServer(t, {
      async upgrade() {
        if (hookCalls++ === 0) {
          await gate; // only the first handshake waits
          lateResult = true;
        }
        return undefined;
      },
    });
    const socket = await openTcp(server.port);
    socket.write(UPGRADE_HEAD + "\r\n");
    await waitUntil(() => hookCalls === 1, "the upgrade hook to run");
    socket.resetAndDestroy();
    await waitUntil(() => server.tcpConnections() === 0, "the server to see the reset");
    release();
    await waitUntil(() => lateResult, "the hook to resolve");
    // The server acts on the hook's result in the promise jobs that follow; one turn of the event loop runs them all.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(server.wss.clients.size, 0, "no connection for a socket that is gone");
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("mid-close: the server sent its close frame, the peer resets instead of answering", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    const peer = await connectRaw(server.port);
    await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
    for (const ws of server.wss.clients) ws.close(1000, "bye");
    const close = await peer.nextFrame();
    assert.equal(close.opcode, Opcode.CLOSE);
    peer.socket.resetAndDestroy();
    await waitUntil(() => server.wss.clients.size === 0, "the server to drop the connection");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }], "no close frame came back: abnormal closure");
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("mid-close: the peer sent its close frame and resets before reading the answer", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    const peer = await connectRaw(server.port);
    await waitUntil(() => server.wss.clients.size === 1, "the connection to open");
    peer.sendClose(1000, "done");
    peer.socket.resetAndDestroy();
    await waitUntil(() => server.wss.clients.size === 0, "the server to drop the connection");
    assert.equal(server.closes.length, 1);
    // Either the close frame was read before the RST (1000) or the RST won (1006).
    assert.ok([1000, 1006].includes(server.closes[0].code), `close code ${server.closes[0].code}`);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("50 peers reset at random points of a 64 KiB message stream at once", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    const frame = encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(64 * 1024, 1) });
    const peers = await Promise.all(Array.from({ length: 50 }, () => connectRaw(server.port)));
    await waitUntil(() => server.wss.clients.size === 50, "50 connections");
    for (const [i, peer] of peers.entries()) {
      peer.write(frame);
      peer.write(frame.subarray(0, (i * 1301) % frame.length)); // a second frame, cut short
    }
    const written = (): number => peers.reduce((sum, peer) => sum + peer.socket.bytesWritten, 0);
    await waitUntil(() => server.bytesRead() === written(), "the server to read everything the peers wrote");
    for (const peer of peers) peer.socket.resetAndDestroy();
    await waitUntil(() => server.wss.clients.size === 0, "every connection dropped");
    assert.equal(server.closes.length, 50);
    assert.ok(server.closes.every((c) => c.code === 1006));
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });
});
