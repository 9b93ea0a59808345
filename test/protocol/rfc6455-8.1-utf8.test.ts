// RFC 6455 §8.1 and RFC 3629: UTF-8 validation, incremental and fail-fast.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Utf8Validator, isValidUtf8 } from "../../src/protocol/utf8.js";
import { rawFrame } from "../support/raw-peer.js";
import { feed, feedEverySplit } from "../support/feed.js";

describe("RFC 6455 §8.1 UTF-8", () => {
  test("the incremental validator agrees with the native one on every 1-3 byte sequence, fed byte by byte", () => {
    const v = new Utf8Validator();
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b += a >= 0xc0 ? 1 : 64) {
        for (const c of a >= 0xe0 ? [0x80, 0x9f, 0xa0, 0xbf, 0x41] : [0x41]) {
          const bytes = Buffer.from([a, b, c]);
          v.reset();
          let ok = true;
          for (const x of bytes) ok = ok && v.feed(Buffer.from([x]));
          ok = ok && v.complete;
          assert.equal(ok, isValidUtf8(bytes), bytes.toString("hex"));
        }
      }
    }
  });

  test("4-byte sequences: limits U+10000, U+10FFFF and beyond", () => {
    const cases: Array<[number[], boolean]> = [
      [[0xf0, 0x90, 0x80, 0x80], true],
      [[0xf4, 0x8f, 0xbf, 0xbf], true],
      [[0xf4, 0x90, 0x80, 0x80], false],
      [[0xf0, 0x8f, 0xbf, 0xbf], false],
      [[0xf5, 0x80, 0x80, 0x80], false],
    ];
    for (const [bytes, valid] of cases) {
      for (let split = 0; split <= 4; split++) {
        const v = new Utf8Validator();
        const b = Buffer.from(bytes);
        const ok = v.feed(b.subarray(0, split)) && v.feed(b.subarray(split)) && v.complete;
        assert.equal(ok, valid, `${b.toString("hex")} split ${split}`);
      }
    }
  });

  test("fail fast: an invalid byte in the first fragment fails before the last fragment arrives", () => {
    const first = rawFrame({ opcode: 1, payload: Buffer.from([0x61, 0xc0]), fin: false });
    const ev = feed(first);
    assert.equal(ev[0].type === "error" && ev[0].code, 1007);
  });

  test("a surrogate split across fragments fails at the byte that makes it a surrogate", () => {
    const ev = feed(Buffer.concat([rawFrame({ opcode: 1, payload: Buffer.from([0xed]), fin: false }), rawFrame({ opcode: 0, payload: Buffer.from([0xa0]), fin: false })]));
    assert.equal(ev[0].type === "error" && ev[0].code, 1007);
  });

  test("a message that ends inside a sequence is 1007", () => {
    const ev = feedEverySplit(Buffer.concat([rawFrame({ opcode: 1, payload: Buffer.from([0x61, 0xe2]), fin: false }), rawFrame({ opcode: 0, payload: Buffer.from([0x82]) })]));
    assert.equal(ev[0].type === "error" && ev[0].code, 1007);
  });

  test("binary messages are not checked", () => {
    const ev = feedEverySplit(rawFrame({ opcode: 2, payload: Buffer.from([0xff, 0xfe]) }));
    assert.equal(ev[0].type, "message");
  });
});
