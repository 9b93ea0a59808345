// RFC 6455 §5.1 and §5.3: which side masks, and the masking algorithm itself.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyMask, applyMaskKey, copyMasked, packMaskKey } from "../../src/protocol/frame.js";
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
