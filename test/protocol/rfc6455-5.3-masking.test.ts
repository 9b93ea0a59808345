// RFC 6455 §5.1, §5.3: masking direction and the masking algorithm.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyMask, applyMaskKey, copyMasked, packMaskKey } from "../../src/protocol/frame.js";
import { rawFrame } from "../support/raw-peer.js";
import { feedEverySplit } from "../support/feed.js";

function reference(data: Buffer, mask: Buffer, phase: number): Buffer {
  return Buffer.from(data.map((b, i) => b ^ mask[(i + phase) & 3]));
}

describe("RFC 6455 §5.3 masking", () => {
  test("applyMask matches the RFC's byte-wise definition for every length, alignment and phase", () => {
    const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    for (let len = 0; len < 80; len++) {
      for (let offset = 0; offset < 4; offset++) {
        for (let phase = 0; phase < 4; phase++) {
          const backing = Buffer.alloc(len + 8);
          for (let i = 0; i < backing.length; i++) backing[i] = (i * 13 + len) & 0xff;
          const view = backing.subarray(offset, offset + len);
          const expected = reference(view, mask, phase);
          applyMask(view, 0, len, mask, 0, phase);
          assert.ok(view.equals(expected), `len ${len} offset ${offset} phase ${phase}`);
        }
      }
    }
  });

  test("applyMaskKey with a packed key equals applyMask", () => {
    const mask = Buffer.from([1, 0x80, 0xff, 7]);
    const a = Buffer.alloc(1000, 0xaa);
    const b = Buffer.alloc(1000, 0xaa);
    applyMask(a, 3, 997, mask, 0, 2);
    applyMaskKey(b, 3, 997, packMaskKey(mask), 2);
    assert.ok(a.equals(b));
  });

  test("copyMasked leaves the source untouched", () => {
    const src = Buffer.from("hello world, this is a longer payload to hit the word path!!!!!!!!!!");
    const copy = Buffer.from(src);
    const out = Buffer.alloc(src.length);
    copyMasked(src, 0, src.length, out, 0, Buffer.from([9, 8, 7, 6]));
    assert.ok(src.equals(copy));
    assert.ok(out.equals(reference(src, Buffer.from([9, 8, 7, 6]), 0)));
  });

  test("a server rejects unmasked frames; a client rejects masked frames (1002)", () => {
    assert.equal(feedEverySplit(rawFrame({ opcode: 1, payload: "x", mask: false }), { isServer: true })[0].type === "error", true);
    const ev = feedEverySplit(rawFrame({ opcode: 1, payload: "x", mask: true }), { isServer: false });
    assert.equal(ev[0].type === "error" && ev[0].code, 1002);
    const ok = feedEverySplit(rawFrame({ opcode: 1, payload: "x", mask: false }), { isServer: false });
    assert.equal(ok[0].type, "message");
  });
});
