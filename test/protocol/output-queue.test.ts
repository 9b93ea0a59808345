// The output queue: frames framed at send time into shared segments (RFC 6455 §5.2),
// masked on the client side (§5.3), with the caller's buffers free for reuse after send.
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { describe, test } from "node:test";
import { FIN, RSV1 } from "../../src/protocol/frame.js";
import { Opcode } from "../../src/protocol/opcode.js";
import { setSimdMasking, simdMasker } from "../../src/protocol/mask-simd.js";
import { OutputQueue } from "../../src/protocol/output-queue.js";
import { parseWireFrames } from "./wire-frames.js";

/** Bytes in their own ArrayBuffer (not Node's shared pool), so `.buffer` tells a view from a copy. */
function ownBuffer(bytes: number[]): Buffer {
  return Buffer.from(Uint8Array.from(bytes).buffer);
}

describe("OutputQueue (server role: unmasked)", () => {
  test("small frames sent in a burst leave as one contiguous buffer, in order", () => {
    const q = new OutputQueue(null);
    // 60 frames of at most 12 bytes fit the first 1 KiB segment.
    for (let i = 0; i < 60; i++) q.pushFrame(FIN | Opcode.Text, `message ${i}`);
    q.pushFrame(FIN | Opcode.Binary, Buffer.from([1, 2, 3]));
    const out = q.take();
    assert.ok(Buffer.isBuffer(out), "one buffer");
    const frames = parseWireFrames(out);
    assert.equal(frames.length, 61);
    frames.slice(0, 60).forEach((f, i) => assert.ok(f.fin && f.opcode === 1 && f.maskKey === null && f.payload.toString() === `message ${i}`));
    assert.deepEqual([...frames[60].payload], [1, 2, 3]);
    assert.equal(q.length, 0);
    assert.equal(q.take(), null);
  });

  test("length counts header and payload bytes exactly", () => {
    const q = new OutputQueue(null);
    q.pushFrame(FIN | Opcode.Text, "abc"); // 2 + 3
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(200)); // 4 + 200
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(70_000)); // 10 + 70000
    assert.equal(q.length, 5 + 204 + 70_010);
    const out = q.take();
    const total = out === null ? 0 : Buffer.isBuffer(out) ? out.length : out.reduce((n, b) => n + b.length, 0);
    assert.equal(total, 5 + 204 + 70_010);
  });

  test("a small caller buffer may be reused right after send: it was copied", () => {
    const q = new OutputQueue(null);
    const buf = Buffer.from("first");
    q.pushFrame(FIN | Opcode.Binary, buf);
    buf.write("XXXXX");
    q.pushFrame(FIN | Opcode.Binary, buf);
    assert.deepEqual(parseWireFrames(q.take()).map((f) => f.payload.toString()), ["first", "XXXXX"]);
  });

  test("payloads at or above COPY_LIMIT are queued by reference, as a separate chunk, in order", () => {
    const q = new OutputQueue(null);
    const big = Buffer.alloc(OutputQueue.COPY_LIMIT, 0x42);
    q.pushFrame(FIN | Opcode.Text, "before");
    q.pushFrame(FIN | Opcode.Binary, big);
    q.pushFrame(FIN | Opcode.Text, "after");
    const out = q.take();
    assert.ok(Array.isArray(out), "several chunks, to be written corked");
    assert.ok(out.includes(big), "the large payload is the caller's buffer itself");
    assert.deepEqual(parseWireFrames(out).map((f) => f.payload.length), [6, OutputQueue.COPY_LIMIT, 5]);
  });

  test("strings are sent as UTF-8 with their byte length; RSV1 and FIN are kept", () => {
    const q = new OutputQueue(null);
    q.pushFrame(RSV1 | Opcode.Text, "€𝄞");
    q.pushFrame(FIN | Opcode.Continuation, "ü".repeat(100));
    const frames = parseWireFrames(q.take());
    assert.ok(!frames[0].fin && frames[0].rsv1 && frames[0].opcode === 1);
    assert.equal(frames[0].payload.toString(), "€𝄞");
    assert.ok(frames[1].fin && !frames[1].rsv1 && frames[1].opcode === 0);
    assert.equal(frames[1].payload.length, 200);
  });

  test("segments grow past the first one without losing or reordering bytes", () => {
    const q = new OutputQueue(null);
    const sizes = [1000, 1, 5000, 125, 126, 8191, 3, 60_000, 2];
    for (const [i, size] of sizes.entries()) q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(size, i));
    const frames = parseWireFrames(q.take());
    assert.deepEqual(frames.map((f) => f.payload.length), sizes);
    frames.forEach((f, i) => assert.ok(f.payload.every((b) => b === i), `frame ${i} content`));
  });

  test("pushRaw queues complete frames as given, small ones copied", () => {
    const q = new OutputQueue(null);
    const raw = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    q.pushRaw(raw);
    raw[2] = 0; // the small raw frame was copied
    q.pushFrame(FIN | Opcode.Text, "x");
    assert.deepEqual(parseWireFrames(q.take()).map((f) => f.payload.toString()), ["hi", "x"]);
  });

  test("after a completed write, adjacent shared frames queue as one view of their memory, in order with what follows", () => {
    const q = new OutputQueue(null);
    q.recycle(); // the transport's signal: nothing of ours is in flight
    // Three frames cut one after the other from one arena, as PublishFrames does.
    const arena = ownBuffer([0x82, 0x01, 0x0a, 0x82, 0x01, 0x0b, 0x82, 0x01, 0x0c, 0x82, 0x01, 0x0d]);
    q.pushRaw(arena.subarray(0, 3));
    q.pushRaw(arena.subarray(3, 6));
    q.pushRaw(arena.subarray(6, 9));
    assert.equal(q.length, 9);
    const run = q.take();
    assert.ok(Buffer.isBuffer(run), "one buffer");
    assert.equal(run.buffer, arena.buffer, "a view of the shared bytes, not a copy");
    assert.deepEqual(parseWireFrames(run).map((f) => f.payload[0]), [0x0a, 0x0b, 0x0c]);

    q.recycle();
    q.pushRaw(arena.subarray(0, 3));
    q.pushRaw(arena.subarray(6, 9)); // not adjacent: copied after the run
    q.pushFrame(FIN | Opcode.Binary, Buffer.from([0x0e])); // a send: after both
    q.pushRaw(arena.subarray(9, 12)); // adjacent to the second, but the run has ended: copied
    assert.equal(q.length, 12);
    const out = q.take();
    const parts = Buffer.isBuffer(out) ? [out] : out!;
    assert.deepEqual(parseWireFrames(Buffer.concat(parts)).map((f) => f.payload[0]), [0x0a, 0x0c, 0x0e, 0x0d]);
  });

  test("shared frames that go on in a fresh arena leave as two views; a third arena's frames are copied", () => {
    const q = new OutputQueue(null);
    q.recycle();
    const a = ownBuffer([0x82, 0x01, 0x01, 0x82, 0x01, 0x02]);
    const b = ownBuffer([0x82, 0x01, 0x03]);
    const c = ownBuffer([0x82, 0x01, 0x04]);
    q.pushRaw(a.subarray(0, 3));
    q.pushRaw(a.subarray(3, 6));
    q.pushRaw(b);
    q.pushRaw(c);
    const out = q.take();
    assert.ok(Array.isArray(out));
    assert.equal(out.length, 3);
    assert.equal(out[0].buffer, a.buffer);
    assert.equal(out[1].buffer, b.buffer);
    assert.notEqual(out[2].buffer, c.buffer);
    assert.deepEqual(parseWireFrames(Buffer.concat(out)).map((f) => f.payload[0]), [1, 2, 3, 4]);
  });

  test("while the last bytes taken may still be in flight (no recycle), shared frames are copied", () => {
    const q = new OutputQueue(null);
    const arena = ownBuffer([0x82, 0x01, 0x0a, 0x82, 0x01, 0x0b]);
    q.recycle();
    q.pushRaw(arena.subarray(0, 3));
    assert.equal((q.take() as Buffer).buffer, arena.buffer);
    // No recycle(): the socket still holds that view, so this queue must not pin another.
    q.pushRaw(arena.subarray(3, 6));
    const copied = q.take() as Buffer;
    assert.notEqual(copied.buffer, arena.buffer);
    assert.deepEqual([...copied], [0x82, 0x01, 0x0b]);
    // clear() (the connection is gone) forgets the run and the permission.
    q.recycle();
    q.pushRaw(arena.subarray(0, 3));
    q.clear();
    assert.equal(q.take(), null);
    q.pushRaw(arena.subarray(3, 6));
    assert.notEqual((q.take() as Buffer).buffer, arena.buffer);
  });

  test("clear() drops everything", () => {
    const q = new OutputQueue(null);
    q.pushFrame(FIN | Opcode.Text, "x");
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(OutputQueue.COPY_LIMIT));
    q.clear();
    assert.equal(q.length, 0);
    assert.equal(q.take(), null);
  });
});

describe("OutputQueue (client role: masked, RFC 6455 §5.3)", () => {
  test("every frame is masked, unmasks to the payload, and the caller's buffer is untouched", () => {
    const q = new OutputQueue(randomFillSync);
    const payloads = [Buffer.alloc(0), Buffer.from("hi"), Buffer.alloc(100, 9), Buffer.alloc(OutputQueue.COPY_LIMIT + 5, 0x33), Buffer.alloc(70_000, 0x44)];
    const copies = payloads.map((p) => Buffer.from(p));
    for (const p of payloads) q.pushFrame(FIN | Opcode.Binary, p);
    q.pushFrame(FIN | Opcode.Text, "text ✓");
    const frames = parseWireFrames(q.take());
    assert.equal(frames.length, payloads.length + 1);
    frames.forEach((f) => assert.ok(f.maskKey !== null, "MASK bit set"));
    payloads.forEach((p, i) => {
      assert.ok(frames[i].payload.equals(copies[i]), `payload ${i} round-trips`);
      assert.ok(p.equals(copies[i]), `caller buffer ${i} was not masked in place`);
    });
    assert.equal(frames.at(-1)!.payload.toString(), "text ✓");
  });

  test("each frame gets its own key (keys come from the mask source, shared by all connections)", () => {
    const q = new OutputQueue(randomFillSync);
    for (let i = 0; i < 10; i++) q.pushFrame(FIN | Opcode.Text, "same");
    const frames = parseWireFrames(q.take());
    const keys = frames.map((f) => f.maskKey!.toString("hex"));
    assert.equal(new Set(keys).size, 10, `keys: ${keys.join(" ")}`);
    frames.forEach((f) => assert.equal(f.payload.toString(), "same"));
  });

  test("the key on the wire is the key applied: a zero payload goes out as the key repeated", () => {
    const q = new OutputQueue(randomFillSync);
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(16, 0));
    const out = q.take() as Buffer;
    const key = out.subarray(2, 6);
    for (let i = 0; i < 16; i++) assert.equal(out[6 + i], key[i & 3], `byte ${i}`);
  });
});

describe("OutputQueue (client role): large frames masked in the queue's MaskHome", () => {
  /** A payload of `length` bytes whose content depends on `seed`. */
  const payloadOf = (length: number, seed: number): Buffer => {
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };
  /** The ArrayBuffers behind what take() returned. */
  const backings = (out: Buffer | Buffer[] | null): ArrayBufferLike[] => (out === null ? [] : Buffer.isBuffer(out) ? [out.buffer] : out.map((b) => b.buffer));
  const LARGE = OutputQueue.HOME_MIN + 3;

  test("after a write the socket took at once, large frames are built in one home and reused; every frame is intact", (t) => {
    if (simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
    const q = new OutputQueue(randomFillSync);
    // The first write: no home yet (it is made once the transport has recycled a write).
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 1));
    const first = q.take();
    assert.ok(parseWireFrames(first)[0].payload.equals(payloadOf(LARGE, 1)));
    q.recycle();
    const homes = new Set<ArrayBufferLike>();
    for (const length of [LARGE, OutputQueue.HOME_MIN, LARGE + 13, 200_001, LARGE]) {
      const payload = payloadOf(length, length);
      const copy = Buffer.from(payload);
      q.pushFrame(FIN | Opcode.Binary, payload);
      const out = q.take();
      const [frame, ...rest] = parseWireFrames(out);
      assert.equal(rest.length, 0);
      assert.ok(frame.maskKey !== null && frame.payload.equals(copy), `length ${length} round-trips`);
      assert.ok(payload.equals(copy), "the caller's buffer is not masked in place");
      for (const b of backings(out)) homes.add(b);
      q.recycle();
    }
    // One home for the first sizes, a larger one from 200,001 bytes on: never one per frame.
    assert.ok(homes.size <= 2, `${homes.size} buffers for 5 frames`);
  });

  test("a frame in the home is never overwritten before the socket took it (no recycle): later frames go elsewhere", (t) => {
    if (simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
    const q = new OutputQueue(randomFillSync);
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 0));
    q.take();
    q.recycle();
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 1));
    const a = q.take();
    const aBytes = Buffer.concat(Buffer.isBuffer(a) ? [a!] : a!);
    // Not recycled: the socket may still be reading frame A from the home.
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 2));
    q.pushFrame(FIN | Opcode.Text, "small");
    const b = q.take();
    assert.ok(Buffer.concat(Buffer.isBuffer(a) ? [a!] : a!).equals(aBytes), "frame A unchanged while in the socket's hands");
    assert.ok(parseWireFrames(a)[0].payload.equals(payloadOf(LARGE, 1)));
    const bFrames = parseWireFrames(b);
    assert.ok(bFrames[0].payload.equals(payloadOf(LARGE, 2)) && bFrames[1].payload.toString() === "small");
    for (const ab of backings(b)) assert.ok(!backings(a).includes(ab), "frame B shares no memory with frame A");
    // Once a later write is known taken (recycle), the home serves again.
    q.recycle();
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 3));
    const c = q.take();
    assert.ok(parseWireFrames(c)[0].payload.equals(payloadOf(LARGE, 3)));
    assert.ok(backings(c).some((ab) => backings(a).includes(ab)), "the home is reused after recycle");
  });

  test("home frames in a burst with small frames keep their order; each gets a fresh key, applied to every byte", (t) => {
    if (simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
    const q = new OutputQueue(randomFillSync);
    q.pushFrame(FIN | Opcode.Text, "warm-up");
    q.take();
    q.recycle();
    q.pushFrame(FIN | Opcode.Text, "before");
    // Zeros: the masked bytes on the wire are the key itself, repeated (RFC 6455 §5.3).
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(LARGE, 0));
    q.pushFrame(FIN | Opcode.Binary, Buffer.alloc(LARGE, 0));
    q.pushFrame(FIN | Opcode.Text, "after");
    const out = q.take();
    const frames = parseWireFrames(out);
    assert.deepEqual(frames.map((f) => f.opcode), [Opcode.Text, Opcode.Binary, Opcode.Binary, Opcode.Text]);
    assert.equal(frames[0].payload.toString(), "before");
    assert.equal(frames[3].payload.toString(), "after");
    const wire = Buffer.concat(Buffer.isBuffer(out) ? [out!] : out!);
    let at = 0;
    for (const f of frames) {
      if (f.opcode === Opcode.Binary) {
        assert.ok(f.payload.every((x) => x === 0));
        const masked = wire.subarray(at + f.headerLength, at + f.headerLength + LARGE);
        for (let i = 0; i < LARGE; i++) if (masked[i] !== f.maskKey![i & 3]) assert.fail(`byte ${i} is not masked with the frame's key`);
      }
      at += f.headerLength + f.payload.length;
    }
    const keys = frames.map((f) => f.maskKey!.toString("hex"));
    assert.equal(new Set(keys).size, 4, `keys: ${keys.join(" ")}`);
  });

  test("large text frames are UTF-8-encoded straight into the home and masked there", (t) => {
    if (simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
    const q = new OutputQueue(randomFillSync);
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 1));
    q.take();
    q.recycle();
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 2));
    const home = backings(q.take());
    q.recycle();
    // Lengths in bytes around the 16-byte SIMD steps: 3-byte and 4-byte UTF-8 sequences.
    for (const text of ["€".repeat(30_000), "€".repeat(30_000) + "a", "😀".repeat(20_000) + "bc", "x".repeat(OutputQueue.HOME_MIN + 15)]) {
      q.pushFrame(FIN | Opcode.Text, text);
      const out = q.take();
      const [frame, ...rest] = parseWireFrames(out);
      assert.equal(rest.length, 0);
      assert.equal(frame.opcode, Opcode.Text);
      assert.equal(frame.payload.toString("utf8"), text, `${Buffer.byteLength(text)} bytes of text round-trip`);
      assert.ok(backings(out).some((ab) => home.includes(ab)), "built in the home");
      q.recycle();
    }
  });

  test("clear() lets the home go; without WebAssembly SIMD large frames are masked as before", () => {
    const q = new OutputQueue(randomFillSync);
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 5));
    q.take();
    q.recycle();
    q.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, 6));
    q.clear();
    assert.equal(q.take(), null);
    setSimdMasking(false);
    try {
      const j = new OutputQueue(randomFillSync);
      for (let i = 0; i < 3; i++) {
        j.pushFrame(FIN | Opcode.Binary, payloadOf(LARGE, i));
        assert.ok(parseWireFrames(j.take())[0].payload.equals(payloadOf(LARGE, i)));
        j.recycle();
      }
    } finally {
      setSimdMasking(true);
    }
  });
});
