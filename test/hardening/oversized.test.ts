// Oversized messages (RFC 6455 §10.4): against maxPayload = 1 MiB, peers send far more —
// one frame announcing 4 GiB, fragmented messages adding up past the limit on 16
// connections at once, and a permessage-deflate bomb. Each is closed with 1009, and the
// process's ArrayBuffer memory (test/helpers/memory.ts: baseline and retained after a forced
// GC, peak sampled every 2 ms) stays far below the bytes sent.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { constants, deflateRawSync } from "node:zlib";
import { formatBytes as mib, MiB, watchArrayBuffers } from "../helpers/memory.js";
import { connectRaw, encodeFrame, Opcode, type RawClient } from "../helpers/raw-client.js";
import { assertStillServes, countUncaught, startEchoServer, upgradedSocket, waitUntil } from "./harness.js";

const LIMIT = 1 * MiB;

/** Writes `chunk` `times` times (the same buffer: the sender allocates nothing), honouring backpressure; stops when the socket closes. */
async function pump(peer: RawClient, chunk: Buffer, times: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < times; i++) {
    if (peer.socket.destroyed || !peer.socket.writable) break;
    if (!peer.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          peer.socket.off("drain", done);
          peer.socket.off("close", done);
          resolve();
        };
        peer.socket.on("drain", done);
        peer.socket.on("close", done);
      });
    }
    written += chunk.length;
  }
  return written;
}

/** The close code of the first close frame that arrives (data frames before it are skipped). */
async function closeCode(peer: RawClient): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const frame = await peer.nextFrame(10_000);
    if (frame.opcode === Opcode.CLOSE) return frame.payload.readUInt16BE(0);
  }
  throw new Error("no close frame");
}

describe("hardening: oversized messages (maxPayload 1 MiB)", () => {
  test("a frame announcing 4 GiB, then 32 MiB more from a peer that ignores the close: 1009 at the header; nothing kept", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { maxPayload: LIMIT });
    const peer = await upgradedSocket(server.port);
    t.after(() => void peer.socket.destroy());
    const chunk = Buffer.alloc(MiB, 0x55);
    const watch = await watchArrayBuffers();
    // FIN + binary, masked, 64-bit length 2^32, mask key 1 2 3 4 (RFC 6455 §5.2).
    peer.socket.write(Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]));
    await waitUntil(() => peer.received().length >= 4, "the close frame");
    assert.deepEqual([...peer.received().subarray(0, 4)], [0x88, 0x02, 0x03, 0xf1], "close 1009");
    // The peer keeps its side open and goes on sending the announced payload.
    let sent = 0;
    for (let i = 0; i < 32 && !peer.socket.destroyed; i++) {
      if (!peer.socket.write(chunk)) await new Promise((resolve) => peer.socket.once("drain", resolve));
      sent += chunk.length;
    }
    await waitUntil(() => server.bytesRead() === peer.socket.bytesWritten, "the server to read the last bytes");
    assert.equal(server.wss.clients.size, 1, "the connection is still open (close timeout not reached)");
    const { retained, peak } = await watch.stop();
    assert.equal(server.messages(), 0);
    assert.equal(sent, 32 * MiB, "the server kept reading (and discarding) until the close timeout");
    assert.ok(retained < 2 * MiB, `retained ${mib(retained)} (peak ${mib(peak)}) after ${mib(sent)} sent`);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("16 connections each sending a 4 MiB message in 64 KiB fragments (64 MiB in all): 1009 each; memory bounded by connections x limit", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { maxPayload: LIMIT });
    const peers = await Promise.all(Array.from({ length: 16 }, () => connectRaw(server.port)));
    t.after(() => peers.forEach((p) => p.destroy()));
    const payload = Buffer.alloc(64 * 1024, 0x41);
    const first = encodeFrame({ opcode: Opcode.BINARY, fin: false, payload, maskKey: [1, 2, 3, 4] });
    const next = encodeFrame({ opcode: Opcode.CONTINUATION, fin: false, payload, maskKey: [1, 2, 3, 4] });
    const watch = await watchArrayBuffers();
    const results = await Promise.all(
      peers.map(async (peer) => {
        const code = closeCode(peer);
        peer.write(first);
        const sent = first.length + (await pump(peer, next, 63));
        return { code: await code, sent };
      }),
    );
    await waitUntil(() => server.wss.clients.size === 0, "the 16 connections to close");
    // Just-closed sockets and their read buffers are garbage now; watch.stop() collects them.
    const { retained, peak } = await watch.stop();
    assert.deepEqual(
      results.map((r) => r.code),
      Array.from({ length: 16 }, () => 1009),
    );
    const sent = results.reduce((n, r) => n + r.sent, 0);
    // Each connection may hold up to the limit until it is closed (while its message buffer
    // doubles, the old half and the new buffer coexist: 1.5 × the limit); once closed, nothing.
    assert.ok(peak < 16 * 1.5 * LIMIT + 16 * MiB, `peak ${mib(peak)} after ${mib(sent)} sent`);
    assert.ok(retained < 2 * MiB, `retained ${mib(retained)} after ${mib(sent)} sent`);
    assert.ok(sent >= 16 * LIMIT, `sent ${sent}`);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("a permessage-deflate bomb (64 MiB of zeros in ~64 KiB): 1009 while inflating; memory bounded", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t, { maxPayload: LIMIT, perMessageDeflate: true });
    // RFC 7692 §7.2.1: deflate with a sync flush, then drop the trailing 00 00 ff ff.
    let compressed = deflateRawSync(Buffer.alloc(64 * MiB), { finishFlush: constants.Z_SYNC_FLUSH });
    compressed = compressed.subarray(0, compressed.length - 4);
    const peer = await connectRaw(server.port, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
    t.after(() => peer.destroy());
    assert.match(String(peer.response.headers["sec-websocket-extensions"]), /^permessage-deflate/);
    const watch = await watchArrayBuffers();
    peer.sendFrame({ opcode: Opcode.BINARY, rsv1: true, payload: compressed });
    assert.equal(await closeCode(peer), 1009);
    const { retained, peak } = await watch.stop();
    assert.ok(compressed.length < MiB, `the bomb is ${compressed.length} bytes on the wire`);
    // Inflation stops at the limit: at most about the limit plus one inflate chunk is ever held.
    assert.ok(peak < 8 * MiB, `peak ${mib(peak)} for a 64 MiB bomb`);
    assert.ok(retained < 2 * MiB, `retained ${mib(retained)}`);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });
});
