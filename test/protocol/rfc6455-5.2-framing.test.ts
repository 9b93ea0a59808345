// RFC 6455 §5.2: the base framing protocol, fed as bytes into the sans-I/O receiver.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, headerSize, writeHeader } from "../../src/protocol/frame.js";
import { rawFrame } from "../support/raw-peer.js";
import { feedEverySplit } from "../support/feed.js";

describe("RFC 6455 §5.2 framing", () => {
  for (const [size, header] of [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [100_000, 10]] as const) {
    test(`a ${size}-byte payload uses a ${header}-byte header (+4 masked) and round-trips`, () => {
      assert.equal(headerSize(size, false), header);
      assert.equal(headerSize(size, true), header + 4);
      const payload = Buffer.alloc(size, 3);
      const mask = Buffer.from([1, 2, 3, 4]);
      const frame = encodeFrame({ opcode: 2, payload, mask });
      assert.equal(frame.length, header + 4 + size);
      const events = feedEverySplit(frame);
      assert.equal(events.length, 1);
      assert.equal(events[0].type, "message");
      assert.ok((events[0] as { data: Buffer }).data.equals(payload));
    });
  }

  test("writeHeader encodes FIN, RSV1 and the 64-bit length big-endian", () => {
    const out = Buffer.alloc(14);
    const end = writeHeader(out, 0, 0x80 | 0x40 | 0x2, 2 ** 32 + 5);
    assert.equal(end, 10);
    assert.deepEqual([...out.subarray(0, 10)], [0xc2, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
  });

  test("text is reported as not binary; binary as binary", () => {
    const ev = feedEverySplit(Buffer.concat([rawFrame({ opcode: 1, payload: "t" }), rawFrame({ opcode: 2, payload: "b" })]));
    assert.deepEqual(ev.map((e) => e.type === "message" && e.isBinary), [false, true]);
  });

  test("64-bit length with the MSB set: 1002", () => {
    const ev = feedEverySplit(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    assert.deepEqual(ev.map((e) => e.type === "error" && e.code), [1002]);
  });

  test("RSV2/RSV3 are 1002; RSV1 is 1002 unless allowed, then the message is flagged compressed", () => {
    for (const bit of ["rsv2", "rsv3", "rsv1"] as const) {
      const ev = feedEverySplit(rawFrame({ opcode: 1, payload: "x", [bit]: true }));
      assert.equal(ev[0].type === "error" && ev[0].code, 1002, bit);
    }
    const ev = feedEverySplit(rawFrame({ opcode: 2, payload: "x", rsv1: true }), { allowRsv1: true });
    assert.equal(ev[0].type === "message" && ev[0].compressed, true);
  });

  test("reserved opcodes are 1002", () => {
    for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
      const ev = feedEverySplit(rawFrame({ opcode: op }));
      assert.equal(ev[0].type === "error" && ev[0].code, 1002, `opcode ${op}`);
    }
  });

  test("after an error the receiver ignores everything", () => {
    const ev = feedEverySplit(Buffer.concat([rawFrame({ opcode: 3 }), rawFrame({ opcode: 1, payload: "late" })]));
    assert.equal(ev.length, 1);
  });
});
