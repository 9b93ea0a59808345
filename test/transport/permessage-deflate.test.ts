/**
 * The permessage-deflate codec (RFC 7692 §7.2): round trips, window sizes, context takeover,
 * interop with plain zlib and with ws, decompression bombs, corrupt data, ordering, close().
 * Deterministic: seeded data, no timing assertions.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { CloseCode } from "../../src/protocol/close-code.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { DeflateParams, PerMessageDeflateOptions } from "../../src/protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate, releaseSharedContexts, sharedContextCount } from "../../src/transport/permessage-deflate.js";

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Plain zlib inflate of one message: append the tail (RFC 7692 §7.2.2); no final block follows. */
function zlibInflate(payload: Buffer, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}
const MiB = 1024 * 1024;

function params(overrides: Partial<DeflateParams> = {}): DeflateParams {
  return { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, ...overrides };
}

function compress(codec: PerMessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => codec.compress(data, (err, result) => (err !== null ? reject(err) : resolve(result!))));
}

function decompress(codec: PerMessageDeflate, data: Buffer | Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => codec.decompress(data, (err, result) => (err !== null ? reject(err) : resolve(result!))));
}

/** A server and a client codec agreeing on `p`. */
function pair(p: DeflateParams, options: PerMessageDeflateOptions = {}, maxPayload = 64 * MiB): { server: PerMessageDeflate; client: PerMessageDeflate; close(): void } {
  const server = new PerMessageDeflate(p, true, options, maxPayload);
  const client = new PerMessageDeflate(p, false, options, maxPayload);
  return {
    server,
    client,
    close() {
      server.close();
      client.close();
    },
  };
}

/** Seeded pseudo-random bytes (xorshift32). */
function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible text: JSON-like records with seeded variation. */
function text(length: number, seed = 1): Buffer {
  const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "über", "日本"];
  const rnd = randomBytes(Math.ceil(length / 4) + 16, seed);
  let s = "";
  for (let i = 0; s.length < length; i++) s += `{"id":${i},"name":"${words[rnd[i % rnd.length] % words.length]}","v":${rnd[(i * 7) % rnd.length]}},`;
  return Buffer.from(s).subarray(0, length);
}

/** `block` repeated so that matches sit exactly `block.length` bytes back. */
function repeated(blockLength: number, times: number, seed: number): Buffer {
  const block = randomBytes(blockLength, seed);
  return Buffer.concat(Array.from({ length: times }, () => block));
}

function expectProtocolError(err: unknown, code: number): true {
  assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
  assert.equal(err.closeCode, code, err.message);
  return true;
}

describe("round trips", () => {
  it("text, binary, empty and one-byte messages, both directions, with context takeover", async () => {
    const { server, client, close } = pair(params());
    const messages = [text(5000), randomBytes(3000, 2), Buffer.alloc(0), Buffer.from("a"), text(5000), Buffer.alloc(0), Buffer.alloc(0), randomBytes(70_000, 3)];
    for (const m of messages) {
      assert.deepEqual(await decompress(client, await compress(server, m)), m);
      assert.deepEqual(await decompress(server, await compress(client, m)), m);
    }
    close();
  });

  it("a 16 MiB message", async () => {
    const { server, client, close } = pair(params(), {}, 16 * MiB);
    const m = text(16 * MiB, 4);
    const c = await compress(server, m);
    assert.ok(c.length < m.length / 2);
    const back = await decompress(client, c);
    assert.equal(back.length, m.length);
    assert.ok(back.equals(m));
    close();
  });

  it("fragments passed as a list, small (joined) and large (written one by one)", async () => {
    const { server, client, close } = pair(params());
    for (const m of [text(10_000, 5), randomBytes(300_000, 6)]) {
      const c = await compress(server, m);
      const cut = [0, 1, 7, Math.floor(c.length / 2), c.length - 1, c.length];
      const fragments = cut.slice(1).map((end, i) => c.subarray(cut[i], end));
      assert.ok((await decompress(client, fragments)).equals(m));
    }
    assert.equal((await decompress(client, [])).length, 0);
    close();
  });

  it("every window size 8..15, both directions, with and without context takeover", async () => {
    for (let bits = 8; bits <= 15; bits++) {
      for (const noTakeover of [false, true]) {
        const p = params({ serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover });
        const { server, client, close } = pair(p);
        // Repeats at distances just inside and outside the window test that the compressor
        // stays within it: the peer inflates with exactly `bits`.
        const window = 1 << bits;
        const messages = [text(4000, bits), repeated(window - 10, 4, bits), repeated(window + 10, 3, bits), repeated(250, 8, bits), text(4000, bits)];
        for (const m of messages) {
          const fromServer = await compress(server, m);
          assert.ok((await decompress(client, fromServer)).equals(m), `server→client bits=${bits} noTakeover=${noTakeover}`);
          const fromClient = await compress(client, m);
          assert.ok((await decompress(server, fromClient)).equals(m), `client→server bits=${bits} noTakeover=${noTakeover}`);
        }
        close();
      }
    }
  });

  it("asymmetric parameters: each side compresses with its own (RFC 7692 §7.1)", async () => {
    const p = params({ serverMaxWindowBits: 9, clientMaxWindowBits: 14, serverNoContextTakeover: true });
    const { server, client, close } = pair(p);
    const m = repeated(2000, 5, 9);
    // The server's output must inflate with a 9-bit window.
    const fromServer = await compress(server, m);
    assert.ok(zlibInflate(fromServer, 9).equals(m));
    assert.ok((await decompress(client, fromServer)).equals(m));
    // The client uses its 14-bit window: the 2000-byte repeats compress.
    const fromClient = await compress(client, m);
    assert.ok(fromClient.length < 2600);
    assert.ok((await decompress(server, fromClient)).equals(m));
    close();
  });
});

describe("context takeover (RFC 7692 §7.1.1)", () => {
  it("with takeover a repeated message refers back to the previous one; without, it does not", async () => {
    const m = randomBytes(4000, 11); // incompressible alone
    const withTakeover = pair(params());
    const first = await compress(withTakeover.server, m);
    const second = await compress(withTakeover.server, m);
    assert.ok(first.length > 3900);
    assert.ok(second.length < 100, `second message ${second.length} bytes`);
    assert.ok((await decompress(withTakeover.client, first)).equals(m));
    assert.ok((await decompress(withTakeover.client, second)).equals(m));
    withTakeover.close();

    for (const sharedContexts of [true, false]) {
      const without = pair(params({ serverNoContextTakeover: true, clientNoContextTakeover: true }), { sharedContexts });
      const a = await compress(without.server, m);
      const b = await compress(without.server, m);
      assert.deepEqual(a, b);
      // Each message inflates alone, as if by a fresh context.
      assert.ok(zlibInflate(b).equals(m));
      without.close();
    }
  });

  it("the inflater keeps the peer's window through releaseIfIdle(); the deflater is released", async () => {
    const { server, client, close } = pair(params());
    const m = randomBytes(4000, 12);
    assert.ok((await decompress(server, await compress(client, m))).equals(m));
    server.releaseIfIdle();
    client.releaseIfIdle();
    // The client's compressor restarted: a full-size message, still valid for the server.
    const again = await compress(client, m);
    assert.ok(again.length > 3900);
    assert.ok((await decompress(server, again)).equals(m));
    // Now with the client's context warm, the message refers back; the server kept its window.
    const ref = await compress(client, m);
    assert.ok(ref.length < 100);
    server.releaseIfIdle();
    assert.ok((await decompress(server, ref)).equals(m));
    close();
  });

  it("a peer's BFINAL block (a finished zlib stream) does not break later messages", async () => {
    const { client, close } = pair(params());
    const messages = [text(3000, 13), text(100, 14), randomBytes(500, 15)];
    for (const m of messages) {
      // zlib's default Z_FINISH ends the stream with a final block (RFC 7692 §7.2.3.4).
      assert.ok((await decompress(client, zlib.deflateRawSync(m))).equals(m));
    }
    close();
  });

  it("an empty compressed payload is an empty message and leaves the inflater intact", async () => {
    const { server, client, close } = pair(params());
    const m = text(2000, 16);
    assert.ok((await decompress(client, await compress(server, m))).equals(m));
    assert.equal((await decompress(client, Buffer.alloc(0))).length, 0);
    assert.ok((await decompress(client, await compress(server, m))).equals(m));
    close();
  });
});

describe("interop", () => {
  it("with plain zlib and the tail rules (RFC 7692 §7.2.1, §7.2.2)", async () => {
    for (const bits of [8, 9, 12, 15]) {
      const p = params({ serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: true, clientNoContextTakeover: true });
      const { server, client, close } = pair(p);
      for (const m of [text(20_000, bits), Buffer.alloc(0), repeated(300, 4, bits)]) {
        // Ours → zlib: append the tail, inflate with the negotiated window.
        const c = await compress(server, m);
        assert.ok(!c.subarray(-4).equals(TAIL) || c.length < 4, "tail stripped");
        assert.ok(zlibInflate(c, bits).equals(m));
        // zlib → ours: sync flush, strip the tail.
        const z = zlib.deflateRawSync(m, { windowBits: bits === 8 ? 9 : bits, flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
        assert.ok(z.subarray(-4).equals(TAIL));
        assert.ok((await decompress(client, z.subarray(0, -4))).equals(m));
      }
      close();
    }
  });

  it("the RFC 7692 §7.2.3.1 example: 'Hello' in one compressed message", async () => {
    const { client, close } = pair(params());
    const hello = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert.equal((await decompress(client, hello)).toString(), "Hello");
    // §7.2.3.2: the same message again, referring to the first one (context takeover).
    assert.equal((await decompress(client, Buffer.from([0xf2, 0x00, 0x11, 0x00, 0x00]))).toString(), "Hello");
    close();
  });

  it("with ws's permessage-deflate, context takeover over several messages", async () => {
    type WsCallback = (err: Error | null, result?: Buffer) => void;
    interface WsPmd {
      accept(offers: Array<Record<string, Array<string | true>>>): Record<string, unknown>;
      compress(data: Buffer, fin: boolean, cb: WsCallback): void;
      decompress(data: Buffer, fin: boolean, cb: WsCallback): void;
      cleanup(): void;
    }
    const require = createRequire(import.meta.url);
    // Not in ws's "exports": load the file by path.
    const wsDir = path.dirname(require.resolve("ws"));
    const WsPerMessageDeflate = require(path.join(wsDir, "lib", "permessage-deflate.js")) as new (options: object, isServer: boolean, maxPayload: number) => WsPmd;
    const wsServer = new WsPerMessageDeflate({}, true, 0);
    wsServer.accept([{}]); // the offer "permessage-deflate": all defaults, as pair(params())
    const { client, close } = pair(params());
    const wsCompress = (m: Buffer) => new Promise<Buffer>((res, rej) => wsServer.compress(m, true, (e, r) => (e ? rej(e) : res(r!))));
    const wsDecompress = (m: Buffer) => new Promise<Buffer>((res, rej) => wsServer.decompress(m, true, (e, r) => (e ? rej(e) : res(r!))));
    for (const m of [text(5000, 21), text(5000, 21), randomBytes(2000, 22), Buffer.from("x"), text(40_000, 23)]) {
      assert.ok((await decompress(client, await wsCompress(m))).equals(m), "ws → wsx");
      assert.ok((await wsDecompress(await compress(client, m))).equals(m), "wsx → ws");
    }
    wsServer.cleanup();
    close();
  });
});

/** Streams `total` zero bytes through raw deflate at level 9, sync-flushed, tail stripped: ≈1 MB per GiB. */
function zeroBomb(total: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const deflate = zlib.createDeflateRaw({ level: 9, memLevel: 9 });
    const out: Buffer[] = [];
    deflate.on("data", (c: Buffer) => out.push(c));
    deflate.on("error", reject);
    const zeros = Buffer.alloc(MiB);
    let written = 0;
    const step = (): void => {
      if (written >= total) {
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          const all = Buffer.concat(out);
          deflate.close();
          resolve(all.subarray(0, all.length - 4));
        });
        return;
      }
      written += zeros.length;
      deflate.write(zeros, step);
    };
    step();
  });
}

describe("decompression bombs (bounded by maxPayload)", () => {
  it("1 GiB of zeros stops at maxPayload with 1009, memory bounded", async () => {
    const bomb = await zeroBomb(1024 * MiB);
    assert.ok(bomb.length < 2 * MiB, `bomb is ${bomb.length} bytes`);
    const maxPayload = 8 * MiB;
    for (const p of [params(), params({ serverNoContextTakeover: true, clientNoContextTakeover: true })]) {
      const { client, close } = pair(p, {}, maxPayload);
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      const buffersBefore = process.memoryUsage().arrayBuffers;
      await assert.rejects(decompress(client, bomb), (err) => expectProtocolError(err, CloseCode.MessageTooBig));
      // Whatever was allocated since (garbage included) is far below the 1 GiB it inflates to.
      const buffersGrowth = process.memoryUsage().arrayBuffers - buffersBefore;
      const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
      assert.ok(buffersGrowth < 4 * maxPayload, `arrayBuffers grew by ${buffersGrowth}`);
      assert.ok(peakGrowth < 128 * MiB, `peak rss grew by ${peakGrowth}`);
      // The connection is failed by the transport; the codec still answers (with a fresh context).
      const m = text(1000, 31);
      const fresh = pair(p);
      assert.ok((await decompress(client, await compress(fresh.server, m))).equals(m));
      fresh.close();
      close();
    }
  });

  it("a message of exactly maxPayload passes, one byte more fails", async () => {
    const maxPayload = 100_000;
    const { server, client, close } = pair(params(), {}, maxPayload);
    const exact = text(maxPayload, 32);
    assert.equal((await decompress(client, await compress(server, exact))).length, maxPayload);
    const over = text(maxPayload + 1, 33);
    const c = await compress(server, over);
    await assert.rejects(decompress(client, c), (err) => expectProtocolError(err, CloseCode.MessageTooBig));
    close();
  });
});

describe("corrupt data fails with 1007", () => {
  const corrupt: Array<[string, Buffer]> = [
    ["reserved block type 11", Buffer.from([0xff, 0xff, 0xff])],
    ["bad stored block length", Buffer.from([0x00, 0x05, 0x00, 0x00, 0x00, 0x01])],
    ["random bytes", randomBytes(1000, 41)],
  ];
  for (const [label, data] of corrupt) {
    it(label, async () => {
      for (const sharedContexts of [true, false]) {
        const { client, close } = pair(params({ serverNoContextTakeover: true }), { sharedContexts });
        await assert.rejects(decompress(client, data), (err) => expectProtocolError(err, CloseCode.InvalidFramePayloadData));
        close();
      }
    });
  }

  it("a reference to an earlier message without context takeover (RFC 7692 §7.1.1.2)", async () => {
    // RFC 7692 §7.2.3.2: "Hello" again, referring to the first "Hello" of §7.2.3.1.
    const first = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    const second = Buffer.from([0xf2, 0x00, 0x11, 0x00, 0x00]);
    for (const sharedContexts of [true, false]) {
      // The server agreed the client resets its context: its inflater starts empty each time.
      const { server, close } = pair(params({ clientNoContextTakeover: true }), { sharedContexts });
      assert.equal((await decompress(server, first)).toString(), "Hello");
      await assert.rejects(decompress(server, second), (err) => expectProtocolError(err, CloseCode.InvalidFramePayloadData));
      close();
    }
    // A fresh context has nothing to refer to either.
    const { client, close } = pair(params());
    await assert.rejects(decompress(client, second), (err) => expectProtocolError(err, CloseCode.InvalidFramePayloadData));
    close();
  });
});

describe("ordering and concurrency", () => {
  it("callbacks come in call order, per direction, under a process-wide limit of 1", async () => {
    const options: PerMessageDeflateOptions = { concurrencyLimit: 1 };
    const pairs = Array.from({ length: 20 }, () => pair(params(), options));
    const sizes = [70_000, 10, 5000, 0, 200_000, 1, 300];
    const all: Array<Promise<void>> = [];
    for (const [k, { server, client }] of pairs.entries()) {
      const order: number[] = [];
      const results: Array<Promise<Buffer>> = [];
      sizes.forEach((size, i) => {
        const m = text(size, k * 100 + i);
        results.push(
          new Promise<Buffer>((resolve, reject) =>
            server.compress(m, (err, c) => {
              order.push(i);
              if (err !== null) return reject(err);
              // Decompress in the same order on the client: context takeover makes any reorder fatal.
              client.decompress(c!, (err2, back) => (err2 !== null ? reject(err2) : resolve(back!)));
            }),
          ),
        );
      });
      all.push(
        Promise.all(results).then((backs) => {
          assert.deepEqual(order, sizes.map((_, i) => i));
          backs.forEach((b, i) => assert.ok(b.equals(text(sizes[i], k * 100 + i))));
        }),
      );
    }
    await Promise.all(all);
    for (const p of pairs) p.close();
  });

  it("callbacks are never synchronous", async () => {
    const { server, client, close } = pair(params());
    let sync = true;
    const done = Promise.all([
      new Promise<void>((res) => server.compress(Buffer.from("abc"), () => { assert.equal(sync, false); res(); })),
      new Promise<void>((res) => client.decompress(Buffer.alloc(0), () => { assert.equal(sync, false); res(); })),
      new Promise<void>((res) => client.decompress(Buffer.from([0xff]), () => { assert.equal(sync, false); res(); })),
    ]);
    sync = false;
    await done;
    close();
  });

  it("the shared pool serves many connections with few contexts", async () => {
    releaseSharedContexts();
    const p = params({ serverNoContextTakeover: true, clientNoContextTakeover: true });
    const pairs = Array.from({ length: 50 }, () => pair(p, { concurrencyLimit: 4 }));
    await Promise.all(
      pairs.map(async ({ server, client }, k) => {
        const m = text(3000, k);
        assert.ok((await decompress(client, await compress(server, m))).equals(m));
        assert.ok((await decompress(server, await compress(client, m))).equals(m));
      }),
    );
    const pooled = sharedContextCount();
    assert.ok(pooled > 0 && pooled <= 4 * 4, `${pooled} pooled contexts`);
    for (const x of pairs) x.close();
    releaseSharedContexts();
    assert.equal(sharedContextCount(), 0);
  });
});

describe("close()", () => {
  it("during pending jobs: no throw, every callback called once, with an error if unfinished", async () => {
    for (const p of [params(), params({ serverNoContextTakeover: true, clientNoContextTakeover: true })]) {
      for (const closeAfter of [0, 1, 3]) {
        const { server, client, close } = pair(p, { concurrencyLimit: 2 });
        const m = text(50_000, 51);
        const c = await compress(server, m);
        const calls: Array<Error | null> = [];
        const settled: Array<Promise<void>> = [];
        for (let i = 0; i < 10; i++) {
          settled.push(new Promise((res) => server.compress(m, (err) => { calls.push(err); res(); })));
          settled.push(new Promise((res) => client.decompress(c, (err) => { calls.push(err); res(); })));
        }
        // Let some jobs finish, then close mid-flight.
        for (let t = 0; t < closeAfter; t++) await new Promise((r) => setImmediate(r));
        assert.doesNotThrow(() => close());
        assert.doesNotThrow(() => close());
        await Promise.all(settled);
        assert.equal(calls.length, 20);
        assert.ok(calls.some((e) => e !== null), "some jobs were cut short");
        // After close: an error, asynchronously.
        let sync = true;
        const late = new Promise<Error | null>((res) => server.compress(m, (err) => { assert.equal(sync, false); res(err); }));
        const lateIn = new Promise<Error | null>((res) => client.decompress(c, (err) => { assert.equal(sync, false); res(err); }));
        sync = false;
        assert.ok((await late) instanceof Error);
        assert.ok((await lateIn) instanceof ProtocolError);
        server.releaseIfIdle();
      }
    }
  });

  it("a close while a bomb is inflating stops it", async () => {
    const bomb = await zeroBomb(256 * MiB);
    const { client, close } = pair(params(), {}, 0); // no limit: only close() stops it
    const result = new Promise<Error | null>((res) => client.decompress(bomb, (err) => res(err)));
    await new Promise((r) => setImmediate(r));
    close();
    assert.ok((await result) instanceof ProtocolError);
  });

  it("other connections carry on after one closes mid-job (the slot is given back)", async () => {
    const options: PerMessageDeflateOptions = { concurrencyLimit: 1 };
    const a = pair(params(), options);
    const b = pair(params(), options);
    const m = text(100_000, 61);
    const pending = new Promise<Error | null>((res) => a.server.compress(m, (err) => res(err)));
    a.close();
    assert.ok((await pending) instanceof Error);
    assert.ok((await decompress(b.client, await compress(b.server, m))).equals(m));
    b.close();
  });
});
