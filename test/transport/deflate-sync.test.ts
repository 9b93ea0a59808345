/**
 * permessage-deflate on the event loop (`compressNow` / `decompressNow`) beside the thread-pool
 * path: both give the same bytes (RFC 7692 §7.2), the hand-over of a large inflation keeps the
 * context, bombs and corrupt data fail as on the async path (1009, 1007), pooled contexts never
 * carry one connection's data into another's messages (property test), and message order holds
 * end to end when small (sync) and large (async) messages mix, against the ws client.
 * Deterministic: seeded or generated data, no timing assertions.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it, test } from "node:test";
import zlib from "node:zlib";
import fc from "fast-check";
import WebSocket from "ws";
import { CloseCode } from "../../src/protocol/close-code.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { DeflateParams, PerMessageDeflateOptions } from "../../src/protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../../src/transport/permessage-deflate.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { connectRaw, encodeFrame, Opcode } from "../helpers/raw-client.js";
import { waitUntil } from "../helpers/time.js";

const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 100);
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const KiB = 1024;
const MiB = 1024 * KiB;

const NO_TAKEOVER: DeflateParams = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const TAKEOVER: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** Compresses through the sync path when it takes the message, else the thread pool. */
function send(codec: PerMessageDeflate, data: Buffer): { sync: boolean; result: Promise<Buffer> } {
  const now = codec.compressNow(data);
  // A view of the codec's scratch: copy it before the next call, as the transport does.
  if (now !== null) return { sync: true, result: Promise.resolve(Buffer.from(now)) };
  return { sync: false, result: new Promise((resolve, reject) => codec.compress(data, (err, r) => (err !== null ? reject(err) : resolve(r!)))) };
}

/** Inflates through the sync path when it takes the message, else the thread pool. */
function receive(codec: PerMessageDeflate, payload: Buffer): { sync: boolean; result: Promise<Buffer> } {
  let later: ((err: Error | null, r?: Buffer) => void) | null = null;
  const result = new Promise<Buffer>((resolve, reject) => {
    later = (err, r) => (err !== null ? reject(err) : resolve(r!));
  });
  try {
    const now = codec.decompressNow(payload, (err, r) => later!(err, r));
    if (now !== null) return { sync: true, result: Promise.resolve(now) };
    return { sync: false, result };
  } catch (err) {
    return { sync: true, result: Promise.reject(err) };
  }
}

function pair(p: DeflateParams, options: PerMessageDeflateOptions, maxPayload = 64 * MiB): { server: PerMessageDeflate; client: PerMessageDeflate; close(): void } {
  const server = new PerMessageDeflate(p, true, options, maxPayload);
  const client = new PerMessageDeflate(p, false, options, maxPayload);
  return { server, client, close: () => (server.close(), client.close()) };
}

/** Text that compresses well but not to nothing: words from a seeded generator. */
function words(bytes: number, seed: number): Buffer {
  const vocab = ["deploy", "review", "socket", "latency", "message", "room", "queue", "the", "a", "of", "window", "frame"];
  let x = seed >>> 0 || 1;
  let s = "";
  while (s.length < bytes) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += vocab[(x >>> 0) % vocab.length] + ((x & 7) === 0 ? ". " : " ");
  }
  return Buffer.from(s.slice(0, bytes));
}

describe("sync and thread-pool paths give the same messages", () => {
  for (const [name, p] of [
    ["no context takeover (pooled contexts)", NO_TAKEOVER],
    ["context takeover (per-connection contexts)", TAKEOVER],
  ] as const) {
    it(`${name}: sizes around syncLimit, both directions, in order`, async () => {
      const { server, client, close } = pair(p, { syncLimit: 1024 });
      try {
        const sizes = [0, 1, 100, 1023, 1024, 1025, 4000, 20_000, 512, 3];
        const sent = sizes.map((n, i) => words(n, i + 1));
        let syncCount = 0;
        // Server to client: all compressions issued before any is awaited (order is the codec's).
        const outs = sent.map((m) => send(server, m));
        // On the event loop while within the limit and nothing is queued before it (order).
        let queued = false;
        for (let i = 0; i < sizes.length; i++) {
          assert.equal(outs[i].sync, sizes[i] <= 1024 && !queued, `size ${sizes[i]}`);
          if (!outs[i].sync) queued = true;
        }
        const payloads = await Promise.all(outs.map((o) => o.result));
        // Each compressed message inflates back, through whichever path takes it.
        const ins = payloads.map((z) => receive(client, z));
        for (const x of ins) if (x.sync) syncCount++;
        assert.deepEqual(await Promise.all(ins.map((x) => x.result)), sent);
        assert.ok(syncCount > 0 && syncCount < sizes.length, "both paths were used");
        // Client to server, the same.
        const back = await Promise.all(sent.map((m) => send(client, m).result));
        assert.deepEqual(await Promise.all(back.map((z) => receive(server, z).result)), sent);
      } finally {
        close();
      }
    });
  }

  it("the sync compressor's output is what plain zlib inflates (RFC 7692 §7.2.1), with and without takeover", async () => {
    for (const p of [NO_TAKEOVER, TAKEOVER]) {
      const codec = new PerMessageDeflate(p, true, {}, MiB);
      const inflater = zlib.createInflateRaw();
      try {
        for (let i = 0; i < 5; i++) {
          const m = words(900 + i * 37, 100 + i);
          const z = Buffer.from(codec.compressNow(m)!);
          // Takeover: one inflate stream across messages, as a peer keeps it.
          const got = await new Promise<Buffer>((resolve) => {
            const parts: Buffer[] = [];
            const onData = (d: Buffer): number => parts.push(d);
            inflater.on("data", onData);
            inflater.write(Buffer.concat([z, TAIL]), () => {
              inflater.off("data", onData);
              resolve(Buffer.concat(parts));
            });
          });
          assert.ok(got.equals(m));
        }
      } finally {
        codec.close();
        inflater.close();
      }
    }
  });
});

describe("a large inflation begun on the event loop carries on in the thread pool", () => {
  it("returns null, delivers the exact message, and keeps the context for the next message (takeover)", async () => {
    // Level 6 (the default with takeover): 256 KiB of repeated text compresses far below 1 KiB (level 1: 1.6 KiB).
    const { server, client, close } = pair(TAKEOVER, { syncLimit: 1024, level: 6 });
    try {
      // 256 KiB of repeated text compresses far below 1 KiB, inflates past 4 x 1 KiB.
      const big = Buffer.from("the quick brown fox jumps over the lazy dog. ".repeat(6000));
      const z1 = await send(server, big).result;
      assert.ok(z1.length <= 1024, `compressed to ${z1.length} bytes`);
      const r1 = receive(client, z1);
      assert.equal(r1.sync, false);
      assert.ok((await r1.result).equals(big));
      // With takeover the next message refers back into the window the hand-over filled.
      const small = Buffer.from("the quick brown fox jumps over the lazy dog. ".repeat(3));
      const z2 = await send(server, small).result;
      const r2 = receive(client, z2);
      assert.equal(r2.sync, true);
      assert.ok((await r2.result).equals(small));
    } finally {
      close();
    }
  });
});

describe("bombs and corrupt data on the sync path", () => {
  const zeros = (n: number): Buffer => {
    const z = zlib.deflateRawSync(Buffer.alloc(n), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return z.subarray(0, z.length - 4);
  };

  it("fails with 1009 at once when the output passes maxPayload within the sync part", () => {
    const codec = new PerMessageDeflate(NO_TAKEOVER, true, {}, 10_000);
    try {
      const bomb = zeros(MiB); // ~1 KiB compressed
      assert.throws(
        () => codec.decompressNow(bomb, () => assert.fail("no callback: failed synchronously")),
        (err: unknown) => err instanceof ProtocolError && err.closeCode === CloseCode.MessageTooBig,
      );
      // The codec still works for the next (honest) message.
      assert.ok(codec.decompressNow(Buffer.from(zlib.deflateRawSync(Buffer.from("ok")).subarray(0)), () => {}) !== undefined);
    } finally {
      codec.close();
    }
  });

  it("fails with 1009 when the output passes maxPayload after the hand-over to the thread pool", async () => {
    const codec = new PerMessageDeflate(TAKEOVER, true, { syncLimit: 4096 }, 100 * KiB);
    try {
      const bomb = zeros(2 * MiB); // ~2 KiB compressed: sync part stops past 16 KiB, the rest goes on
      assert.ok(bomb.length <= 4096);
      const r = receive(codec, bomb);
      assert.equal(r.sync, false);
      await assert.rejects(r.result, (err: unknown) => err instanceof ProtocolError && err.closeCode === CloseCode.MessageTooBig);
    } finally {
      codec.close();
    }
  });

  it("fails with 1007 on corrupt data; the pooled context is dropped, the next message inflates", async () => {
    const codec = new PerMessageDeflate(NO_TAKEOVER, true, {}, MiB);
    try {
      // BTYPE 11 (reserved, RFC 1951 §3.2.3): invalid block type.
      assert.throws(
        () => codec.decompressNow(Buffer.from([0xff, 0xff, 0xff]), () => assert.fail("no callback")),
        (err: unknown) => err instanceof ProtocolError && err.closeCode === CloseCode.InvalidFramePayloadData,
      );
      const m = words(2000, 7);
      const z = zlib.deflateRawSync(m, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok((await receive(codec, z.subarray(0, z.length - 4)).result).equals(m));
    } finally {
      codec.close();
    }
  });
});

describe("pooled contexts never leak one connection's data into another's messages", () => {
  it("interleaved messages on many connections, pooled and per-connection, sync and async, all decode exactly", async () => {
    const message = fc.oneof(
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
      fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 1e6 })).map(([n, seed]) => words(n, seed)),
      fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
    );
    const command = fc.record({ conn: fc.nat({ max: 5 }), toClient: fc.boolean(), data: message });
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), fc.array(fc.nat({ max: 5 }), { maxLength: 200 }), async (commands, order) => {
        // Connections 0-3 without context takeover (pooled), 4-5 with (their own contexts).
        // A low sync limit sends part of the messages through the thread pool.
        const conns = Array.from({ length: 6 }, (_, i) => pair(i < 4 ? NO_TAKEOVER : TAKEOVER, { syncLimit: 256 }));
        try {
          // Phase 1: every compression issued in command order (interleaving connections).
          const wire = conns.map(() => ({ toClient: [] as Array<{ data: Buffer; z: Promise<Buffer> }>, toServer: [] as Array<{ data: Buffer; z: Promise<Buffer> }> }));
          for (const c of commands) {
            const { server, client } = conns[c.conn];
            const out = send(c.toClient ? server : client, c.data);
            (c.toClient ? wire[c.conn].toClient : wire[c.conn].toServer).push({ data: c.data, z: out.result });
          }
          // Phase 2: inflations interleaved across connections in the generated order, each
          // connection's messages in sequence.
          const cursors = conns.map(() => ({ c: 0, s: 0 }));
          const checks: Array<Promise<void>> = [];
          const step = async (i: number): Promise<void> => {
            const cur = cursors[i];
            const w = wire[i];
            if (cur.c < w.toClient.length) {
              const { data, z } = w.toClient[cur.c++];
              const payload = await z;
              // Without takeover, each message must stand alone: plain zlib inflates it.
              if (i < 4) assert.ok(zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(data));
              checks.push(receive(conns[i].client, payload).result.then((got) => assert.ok(got.equals(data))));
            } else if (cur.s < w.toServer.length) {
              const { data, z } = w.toServer[cur.s++];
              checks.push(receive(conns[i].server, await z).result.then((got) => assert.ok(got.equals(data))));
            }
          };
          for (const i of order) await step(i);
          for (let i = 0; i < conns.length; i++) while (cursors[i].c < wire[i].toClient.length || cursors[i].s < wire[i].toServer.length) await step(i);
          await Promise.all(checks);
        } finally {
          for (const c of conns) c.close();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("message order end to end: small (sync) and large (async) messages mixed, ws client", () => {
  for (const [name, options] of [
    ["default (no context takeover)", { syncLimit: 1024, threshold: 0 }],
    ["context takeover", { syncLimit: 1024, threshold: 0, serverNoContextTakeover: false, clientNoContextTakeover: false }],
  ] as const) {
    test(name, async (t) => {
      const server = await startEchoServer({ t, perMessageDeflate: options });
      const ws = new WebSocket(server.url, { perMessageDeflate: { threshold: 0 } });
      t.after(() => ws.terminate());
      await once(ws, "open");
      // Small ones go through the sync paths; large, poorly compressible ones (random bytes
      // compress to more than 1 KiB) through the thread pool, both ways.
      const sent: Buffer[] = [];
      for (let i = 0; i < 120; i++) {
        const m = i % 3 === 2 ? Buffer.from(Array.from({ length: 3000 + i }, (_, k) => (k * 2654435761 + i * 40503) >>> 24)) : words(50 + i * 7, i + 1);
        sent.push(m);
      }
      const got: Buffer[] = [];
      const done = new Promise<void>((resolve) =>
        ws.on("message", (d: Buffer) => {
          got.push(d);
          if (got.length === sent.length) resolve();
        }),
      );
      for (const m of sent) ws.send(m, { binary: true });
      await done;
      assert.equal(got.length, sent.length);
      for (let i = 0; i < sent.length; i++) assert.ok(got[i].equals(sent[i]), `message ${i} (${sent[i].length} bytes)`);
      assert.match(String(ws.extensions), /permessage-deflate/);
    });
  }
});

describe("after a failed inflation the connection ends without waiting for the close timer", () => {
  for (const [name, syncLimit] of [
    ["sync path", 65536],
    ["thread-pool path", 0],
  ] as const) {
    test(`${name}: a bomb (1009) followed by more bombs in the same write; the server drops the connection when the peer closes`, async (t) => {
      const server = await startEchoServer({ t, maxPayload: 64 * KiB, closeTimeout: 60_000, perMessageDeflate: { syncLimit } });
      const z = zlib.deflateRawSync(Buffer.alloc(MiB), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      const bomb = encodeFrame({ opcode: Opcode.BINARY, rsv1: true, payload: z.subarray(0, z.length - 4) });
      const attacker = await connectRaw(server.port, { t, headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
      attacker.write(Buffer.concat([bomb, bomb, bomb]));
      await attacker.expectClose(CloseCode.MessageTooBig);
      // The close timer is 60 s: only reading the peer's FIN ends the connection this soon.
      await waitUntil(() => server.wss.clients.size === 0, "the server to drop the attacker");
      assert.equal(server.messages(), 0);
    });
  }
});

describe("publish compresses on the event loop only up to syncLimit", () => {
  test("a publish within syncLimit goes compressed (once for all), a larger one uncompressed (RFC 7692 §6.1)", async (t) => {
    const server = await startEchoServer({
      t,
      perMessageDeflate: { syncLimit: 2048 },
      open(ws) {
        ws.subscribe("room");
      },
    });
    const headers = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
    const subscribers = [await connectRaw(server.port, { t, headers }), await connectRaw(server.port, { t, headers })];
    await waitUntil(() => server.wss.subscriberCount("room") === 2, "both subscriptions");
    const small = words(1500, 3);
    const large = words(5000, 4);
    server.wss.publish("room", small, false);
    server.wss.publish("room", large, false);
    for (const s of subscribers) {
      const a = await s.nextFrame();
      assert.equal(a.rsv1, true);
      assert.ok(zlib.inflateRawSync(Buffer.concat([a.payload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(small));
      const b = await s.nextFrame();
      assert.equal(b.rsv1, false);
      assert.ok(b.payload.equals(large));
    }
  });
});

describe("a pooled decompressor forgets the previous message (RFC 7692 §7.1.1.2)", () => {
  test("a message that refers back into another connection's message fails with 1007 instead of reading it", async () => {
    const secret = Buffer.from('{"token":"s3cr3t-0123456789abcdef","user":"ann"}');
    const victim = new PerMessageDeflate(NO_TAKEOVER, true, {}, MiB);
    const attacker = new PerMessageDeflate(NO_TAKEOVER, true, {}, MiB);
    try {
      const z = zlib.deflateRawSync(secret, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok(victim.decompressNow(z.subarray(0, z.length - 4), () => assert.fail("sync"))!.equals(secret));
      // Compressed against the victim's message as a preset dictionary: all back-references.
      const probe = zlib.deflateRawSync(secret, { dictionary: secret, finishFlush: zlib.constants.Z_SYNC_FLUSH });
      const payload = probe.subarray(0, probe.length - 4);
      assert.ok(payload.length < secret.length / 2, "the probe is made of back-references");
      for (const path of ["sync", "thread pool"]) {
        const codec = path === "sync" ? attacker : new PerMessageDeflate(NO_TAKEOVER, true, { syncLimit: 0 }, MiB);
        try {
          await assert.rejects(receive(codec, payload).result, (err: unknown) => err instanceof ProtocolError && err.closeCode === CloseCode.InvalidFramePayloadData, path);
        } finally {
          if (codec !== attacker) codec.close();
        }
      }
    } finally {
      victim.close();
      attacker.close();
    }
  });
});
