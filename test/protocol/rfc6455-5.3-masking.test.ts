// RFC 6455 §5.1 and §5.3: which side masks, and the masking algorithm itself.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { applyMask, applyMaskKey, copyMasked, packMaskKey } from "../../src/protocol/frame.js";
import { MAX_MASK_HOME_BYTES, MAX_MASK_HOME_SIZE, MAX_MASK_HOMES, MaskHome, setSimdMasking, simdMasker } from "../../src/protocol/mask-simd.js";
import { forceGc } from "../helpers/memory.js";
import { clientFrame, errorCode, feedEverySplit, serverFrame } from "./feed.js";

/** RFC 6455 §5.3: octet i of the transformed data is octet i XOR octet (i MOD 4) of the key. */
function reference(data: Uint8Array, key: Uint8Array, phase: number): Buffer {
  return Buffer.from(data.map((b, i) => b ^ key[(i + phase) & 3]));
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + seed * 7) & 0xff;
  return b;
}

describe("RFC 6455 §5.3 the masking algorithm", () => {
  test("applyMask equals the RFC's definition for every length 0-100, buffer alignment and key phase", () => {
    const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    for (let length = 0; length <= 100; length++) {
      for (let offset = 0; offset < 4; offset++) {
        for (let phase = 0; phase < 4; phase++) {
          const backing = pattern(length + 8, length);
          const view = backing.subarray(offset, offset + length);
          const expected = reference(view, key, phase);
          const before = Buffer.from(backing);
          applyMask(view, 0, length, key, 0, phase);
          assert.ok(view.equals(expected), `length ${length}, offset ${offset}, phase ${phase}`);
          // Bytes outside the range are untouched.
          assert.ok(backing.subarray(0, offset).equals(before.subarray(0, offset)));
          assert.ok(backing.subarray(offset + length).equals(before.subarray(offset + length)));
        }
      }
    }
  });

  test("masking twice restores the data (XOR is its own inverse)", () => {
    const key = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const data = pattern(4099, 3);
    const copy = Buffer.from(data);
    applyMask(data, 0, data.length, key);
    assert.ok(!data.equals(copy));
    applyMask(data, 0, data.length, key);
    assert.ok(data.equals(copy));
  });

  test("applyMaskKey with a packed key equals applyMask with the key bytes, at a key offset", () => {
    const keys = Buffer.from([0, 0, 1, 0x80, 0xff, 7]);
    for (const phase of [0, 1, 2, 3]) {
      const a = pattern(1000, phase);
      const b = Buffer.from(a);
      applyMask(a, 3, 997, keys, 2, phase);
      applyMaskKey(b, 3, 997, packMaskKey(keys, 2), phase);
      assert.ok(a.equals(b), `phase ${phase}`);
      assert.ok(a.subarray(3, 997).equals(reference(pattern(1000, phase).subarray(3, 997), keys.subarray(2), phase)));
    }
  });

  test("copyMasked writes the masked bytes and never modifies the caller's source (short and long paths)", () => {
    const key = Buffer.from([9, 8, 7, 6]);
    for (const length of [0, 1, 5, 63, 64, 65, 1000]) {
      const source = pattern(length, 1);
      const untouched = Buffer.from(source);
      const target = Buffer.alloc(length + 3);
      copyMasked(source, 0, length, target, 3, key);
      assert.ok(source.equals(untouched), `source modified at length ${length}`);
      assert.ok(target.subarray(3).equals(reference(source, key, 0)), `length ${length}`);
    }
  });
});

describe("RFC 6455 §5.1 masking direction", () => {
  test("a server accepts masked frames and unmasks them; every key byte position lines up across splits", () => {
    const payload = pattern(1031, 5);
    const events = feedEverySplit(clientFrame({ opcode: 2, payload }));
    assert.ok(events[0].type === "message" && events[0].data.equals(payload));
  });

  test("a server fails an unmasked frame with 1002", () => {
    assert.equal(errorCode(feedEverySplit(serverFrame({ opcode: 1, payload: "x" }), { isServer: true })), 1002);
    assert.equal(errorCode(feedEverySplit(serverFrame({ opcode: 9, payload: "x" }), { isServer: true })), 1002);
  });

  test("a client accepts unmasked frames and fails a masked frame with 1002", () => {
    const ok = feedEverySplit(serverFrame({ opcode: 1, payload: "x" }), { isServer: false });
    assert.ok(ok[0].type === "message" && ok[0].data.toString() === "x");
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 1, payload: "x" }), { isServer: false })), 1002);
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 10, payload: "x" }), { isServer: false })), 1002);
  });

  test("an all-zero masking key is still a masked frame (the MASK bit decides, not the key)", () => {
    const events = feedEverySplit(clientFrame({ opcode: 1, payload: "zero key", maskKey: Uint8Array.of(0, 0, 0, 0) }));
    assert.ok(events[0].type === "message" && events[0].data.toString() === "zero key");
  });
});

describe("RFC 6455 §5.3 masking equals the naive XOR (property, WebAssembly SIMD and JavaScript paths)", () => {
  const arbCase = fc.record({
    length: fc.integer({ min: 0, max: 4096 }),
    // Offset of the range inside its buffer and of the buffer inside its ArrayBuffer: every
    // alignment of the data relative to 4- and 16-byte boundaries.
    start: fc.integer({ min: 0, max: 19 }),
    bufferOffset: fc.integer({ min: 0, max: 19 }),
    targetOffset: fc.integer({ min: 0, max: 19 }),
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    phase: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer({ min: 0, max: 255 }),
  });

  /** A buffer of `length + 2*pad` bytes at `bufferOffset` inside a larger ArrayBuffer. */
  function placed(length: number, bufferOffset: number, pad: number, seed: number): Buffer {
    const backing = new ArrayBuffer(bufferOffset + length + 2 * pad + 7);
    const buf = Buffer.from(backing, bufferOffset, length + 2 * pad);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + seed) & 0xff;
    return buf;
  }

  for (const simd of [true, false]) {
    const path = simd ? "SIMD" : "JavaScript";
    test(`applyMaskKey (${path}) on every length 0-4096, alignment, phase and key; bytes outside untouched`, (t) => {
      if (simd && simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
      setSimdMasking(simd);
      try {
        fc.assert(
          fc.property(arbCase, ({ length, start, bufferOffset, key, phase, seed }) => {
            const buf = placed(length, bufferOffset, start, seed);
            const before = Buffer.from(buf);
            applyMaskKey(buf, start, start + length, packMaskKey(key), phase);
            assert.ok(buf.subarray(start, start + length).equals(reference(before.subarray(start, start + length), key, phase)));
            assert.ok(buf.subarray(0, start).equals(before.subarray(0, start)));
            assert.ok(buf.subarray(start + length).equals(before.subarray(start + length)));
          }),
          { numRuns: 300 },
        );
      } finally {
        setSimdMasking(true);
      }
    });

    test(`copyMasked (${path}) on every length 0-4096 and alignment: masked copy, source and surroundings untouched`, (t) => {
      if (simd && simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
      setSimdMasking(simd);
      try {
        fc.assert(
          fc.property(arbCase, ({ length, start, bufferOffset, targetOffset, key, seed }) => {
            const source = placed(length, bufferOffset, start, seed);
            const sourceBefore = Buffer.from(source);
            const target = placed(length, targetOffset, 3, seed + 1);
            const targetBefore = Buffer.from(target);
            const keyBuf = Buffer.concat([Buffer.from([1, 2]), key]);
            copyMasked(source, start, start + length, target, 3, keyBuf, 2);
            assert.ok(source.equals(sourceBefore), "the source must not change");
            assert.ok(target.subarray(3, 3 + length).equals(reference(source.subarray(start, start + length), key, 0)));
            assert.ok(target.subarray(0, 3).equals(targetBefore.subarray(0, 3)));
            assert.ok(target.subarray(3 + length).equals(targetBefore.subarray(3 + length)));
          }),
          { numRuns: 300 },
        );
      } finally {
        setSimdMasking(true);
      }
    });
  }

  test("the SIMD path handles payloads spanning several of its 16 KiB blocks, with every phase", (t) => {
    if (simdMasker() === null) return t.skip("WebAssembly SIMD is not available here");
    const key = Buffer.from([0x01, 0x80, 0xfe, 0x7f]);
    for (const length of [16383, 16384, 16385, 3 * 16384 + 5, 100_003]) {
      for (let phase = 0; phase < 4; phase++) {
        const data = pattern(length + 2, length + phase).subarray(1, length + 1);
        const expected = reference(data, key, phase);
        applyMaskKey(data, 0, length, packMaskKey(key), phase);
        assert.ok(data.equals(expected), `length ${length}, phase ${phase}`);
      }
    }
  });
});

describe("RFC 6455 §5.3 masking in a MaskHome (a client's large frames, in WebAssembly memory)", () => {
  // One home for the whole suite: a process has at most MAX_MASK_HOMES of them.
  let home: MaskHome | null | undefined;
  const getHome = (): MaskHome | null => (home ??= MaskHome.create(4 * 65536));

  test("copyMasked equals the RFC's XOR at every length 0-130 and unaligned offset; source and surroundings untouched", (t) => {
    const h = getHome();
    if (h === null) return t.skip("WebAssembly SIMD is not available here");
    const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    for (let length = 0; length <= 130; length++) {
      for (const [start, offset] of [[0, 16], [1, 17], [3, 5], [5, 0], [2, 63]]) {
        const source = pattern(start + length + 3, length);
        const sourceBefore = Buffer.from(source);
        h.buffer.fill(0xa5, 0, offset + length + 80);
        h.copyMasked(source, start, start + length, offset, packMaskKey(key));
        assert.ok(source.equals(sourceBefore), "the source must not change");
        assert.ok(h.buffer.subarray(offset, offset + length).equals(reference(source.subarray(start, start + length), key, 0)), `length ${length}, start ${start}, offset ${offset}`);
        assert.ok(h.buffer.subarray(0, offset).every((b) => b === 0xa5), "bytes before untouched");
        assert.ok(h.buffer.subarray(offset + length, offset + length + 80).every((b) => b === 0xa5), `bytes after untouched (length ${length})`);
      }
    }
  });

  test("copyMasked across its 16 KiB blocks and at the end of the memory, every length near a boundary", (t) => {
    const h = getHome();
    if (h === null) return t.skip("WebAssembly SIMD is not available here");
    const key = Buffer.from([0x01, 0x80, 0xfe, 0x7f]);
    const size = h.buffer.length;
    for (const length of [16383, 16384, 16385, 16399, 32767, 32768, 32769, 3 * 16384 + 5, 100_003]) {
      for (const offset of [0, 1, 15, 16, 17]) {
        const source = pattern(length + 1, length + offset).subarray(1);
        h.buffer.fill(0x5a);
        h.copyMasked(source, 0, length, offset, packMaskKey(key));
        assert.ok(h.buffer.subarray(offset, offset + length).equals(reference(source, key, 0)), `length ${length}, offset ${offset}`);
        assert.ok(h.buffer.subarray(offset + length).every((b) => b === 0x5a), `bytes after untouched (length ${length}, offset ${offset})`);
      }
      // Ending exactly at the memory's last byte: no access past it.
      const source = pattern(length, 9);
      h.copyMasked(source, 0, length, size - length, packMaskKey(key));
      assert.ok(h.buffer.subarray(size - length).equals(reference(source, key, 0)), `length ${length} at the end`);
    }
  });

  test("copyMasked (property): any length up to 70,000, any source start and target offset", (t) => {
    const h = getHome();
    if (h === null) return t.skip("WebAssembly SIMD is not available here");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (length, start, offset, key) => {
          const source = pattern(start + length, length + start);
          h.buffer.fill(0xc3, 0, offset + length + 64);
          h.copyMasked(source, start, start + length, offset, packMaskKey(key));
          assert.ok(h.buffer.subarray(offset, offset + length).equals(reference(source.subarray(start), key, 0)));
          assert.ok(h.buffer.subarray(0, offset).every((b) => b === 0xc3));
          assert.ok(h.buffer.subarray(offset + length, offset + length + 64).every((b) => b === 0xc3));
        },
      ),
      { numRuns: 150 },
    );
  });

  test("maskInPlace equals the RFC's XOR at every length 0-130 and offset, and across 70,000 bytes; bytes around untouched", (t) => {
    const h = getHome();
    if (h === null) return t.skip("WebAssembly SIMD is not available here");
    const key = Buffer.from([0xc0, 0x01, 0x7e, 0x99]);
    const lengths = [...Array.from({ length: 131 }, (_, i) => i), 16383, 16385, 70_000, 70_013];
    for (const length of lengths) {
      for (const start of [0, 1, 3, 16, 31]) {
        h.buffer.fill(0x3c, 0, start + length + 64);
        const data = pattern(length, length + start);
        h.buffer.set(data, start);
        h.maskInPlace(start, start + length, packMaskKey(key));
        assert.ok(h.buffer.subarray(start, start + length).equals(reference(data, key, 0)), `length ${length}, start ${start}`);
        assert.ok(h.buffer.subarray(0, start).every((b) => b === 0x3c));
        assert.ok(h.buffer.subarray(start + length, start + length + 64).every((b) => b === 0x3c), `bytes after untouched (length ${length})`);
      }
    }
  });

  test("at most MAX_MASK_HOMES homes live at once; collected homes make room again", async (t) => {
    if (getHome() === null) return t.skip("WebAssembly SIMD is not available here");
    let made: MaskHome[] = [];
    for (let i = 0; i <= MAX_MASK_HOMES; i++) {
      const h = MaskHome.create(65536);
      if (h === null) break;
      made.push(h);
    }
    // The suite's own home counts too.
    assert.equal(made.length, MAX_MASK_HOMES - 1);
    assert.equal(MaskHome.create(65536), null, "past the cap: no home (the caller masks through the scratch memory)");
    made = [];
    // Homes are counted down when collected (FinalizationRegistry, after a GC and a turn).
    let again: MaskHome | null = null;
    for (let round = 0; round < 100 && again === null; round++) {
      forceGc();
      await new Promise<void>((resolve) => setImmediate(resolve));
      again = MaskHome.create(65536);
    }
    assert.ok(again !== null, "a home can be made again once the others are collected");
  });

  test("all homes together stay within MAX_MASK_HOME_BYTES", (t) => {
    if (getHome() === null) return t.skip("WebAssembly SIMD is not available here");
    const big: MaskHome[] = [];
    for (let i = 0; i < 8; i++) {
      const h = MaskHome.create(MAX_MASK_HOME_SIZE);
      if (h === null) break;
      big.push(h);
    }
    // The suite's home (256 KiB) is live, and some 64 KiB ones of the test before may be: 3 fit, not 4.
    assert.ok(big.length >= 1 && big.length * MAX_MASK_HOME_SIZE <= MAX_MASK_HOME_BYTES - 4 * 65536, `${big.length} homes of 16 MiB`);
    assert.equal(MaskHome.create(MAX_MASK_HOME_SIZE), null, "past the byte cap: no home");
  });

  test("no home without WebAssembly SIMD, nor past MAX_MASK_HOME_SIZE; its size is whole 64 KiB pages", () => {
    setSimdMasking(false);
    try {
      assert.equal(MaskHome.create(100_000), null);
    } finally {
      setSimdMasking(true);
    }
    assert.equal(MaskHome.create(MAX_MASK_HOME_SIZE + 1), null);
    const h = getHome();
    if (h !== null) assert.equal(h.buffer.length % 65536, 0);
  });
});
