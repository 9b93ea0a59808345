// Oversized messages (RFC 6455 §10.4): against maxPayload = 1 MiB, peers send far more —
// one frame announcing 4 GiB, fragmented messages adding up past the limit on 16
// connections at once, and a permessage-deflate bomb. Each is closed with 1009, and the
// process's ArrayBuffer memory (sampled every few milliseconds, peak minus baseline) stays
// far below the bytes sent.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { constants, deflateRawSync } from "node:zlib";
import { connectRaw, encodeFrame, Opcode, type RawClient } from "../helpers/raw-client.js";
import { assertStillServes, countUncaught, sleep, startEchoServer, upgradedSocket, waitUntil } from "./harness.js";

const MiB = 1024 * 1024;
const LIMIT = 1 * MiB;

// A full GC before each baseline, so earlier tests' garbage is not counted (test-only).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Starts watching `process.memoryUsage().arrayBuffers` after a full GC. The returned function
 * gives the growth that is still retained (after another full GC; call it while the abusive
 * connections are still open, so anything they hold counts) and the peak growth seen by
 * sampling every 2 ms (which includes read buffers that were already garbage).
 */
async function watchArrayBuffers(): Promise<() => Promise<{ retained: number; peak: number }>> {
  await fullGc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }, 2);
  return async () => {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    await fullGc();
    return { retained: process.memoryUsage().arrayBuffers - baseline, peak: peak - baseline };
  };
}

/** Full GCs with pauses between: V8 frees ArrayBuffer backing stores on a background sweep. */
async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
}

const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

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
    const stop = await watchArrayBuffers();
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
    await sleep(20); // let the server read the last bytes
    assert.equal(server.wss.clients.size, 1, "the connection is still open (close timeout not reached)");
    const { retained, peak } = await stop();
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
    const stop = await watchArrayBuffers();
    const results = await Promise.all(
      peers.map(async (peer) => {
        const code = closeCode(peer);
        peer.write(first);
        const sent = first.length + (await pump(peer, next, 63));
        return { code: await code, sent };
      }),
    );
    await waitUntil(() => server.wss.clients.size === 0, "the 16 connections to close");
    // Just-closed sockets and their read buffers become garbage over the next moments.
    await sleep(100);
    const { retained, peak } = await stop();
    assert.deepEqual(
      results.map((r) => r.code),
      Array.from({ length: 16 }, () => 1009),
    );
    const sent = results.reduce((n, r) => n + r.sent, 0);
    // Each connection may hold up to the limit until it is closed; once closed, nothing.
    assert.ok(peak < 16 * LIMIT + 16 * MiB, `peak ${mib(peak)} after ${mib(sent)} sent`);
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
    const stop = await watchArrayBuffers();
    peer.sendFrame({ opcode: Opcode.BINARY, rsv1: true, payload: compressed });
    assert.equal(await closeCode(peer), 1009);
    await sleep(20);
    const { retained, peak } = await stop();
    assert.ok(compressed.length < MiB, `the bomb is ${compressed.length} bytes on the wire`);
    // Inflation stops at the limit: at most about the limit plus one inflate chunk is ever held.
    assert.ok(peak < 8 * MiB, `peak ${mib(peak)} for a 64 MiB bomb`);
    assert.ok(retained < 2 * MiB, `retained ${mib(retained)}`);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });
});
