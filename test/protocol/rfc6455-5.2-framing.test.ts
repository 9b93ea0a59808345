// RFC 6455 §5.2: the base framing protocol, fed as bytes into the sans-I/O receiver
// (whole, one byte at a time and at random split points).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, headerSize, writeHeader } from "../../src/protocol/frame.js";
import { encodeFrame as referenceEncode } from "../helpers/raw-client.js";
import { cat, clientFrame, errorCode, feedBytewise, feedChunks, feedEverySplit, serverFrame, TEST_MASK_KEY } from "./feed.js";

/** A payload whose bytes differ from each other (so a misplaced byte is noticed). */
function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe("RFC 6455 §5.2 payload length: 7-bit, 16-bit and 64-bit encodings", () => {
  const cases: Array<[size: number, header: number]> = [
    [0, 2],
    [1, 2],
    [125, 2], // largest 7-bit length
    [126, 4], // smallest 16-bit length
    [65535, 4], // largest 16-bit length
    [65536, 10], // smallest 64-bit length
    [200_003, 10],
  ];
  for (const [size, header] of cases) {
    test(`${size} bytes: ${header}-byte header (+4 masked), encoded like the reference, received intact`, () => {
      assert.equal(headerSize(size, false), header);
      assert.equal(headerSize(size, true), header + 4);
      const payload = pattern(size);
      // wsx's encoder and the test's independent encoder produce the same bytes.
      const ours = encodeFrame({ opcode: 2, payload, mask: TEST_MASK_KEY });
      assert.ok(ours.equals(clientFrame({ opcode: 2, payload })), "masked frame bytes");
      assert.ok(encodeFrame({ opcode: 2, payload }).equals(serverFrame({ opcode: 2, payload })), "unmasked frame bytes");
      assert.equal(ours.length, header + 4 + size);
      // Split checks on the big frames are bounded: one byte at a time is 200k pushes, fine.
      const events = feedEverySplit(ours, {}, size > 70_000 ? 2 : 8);
      assert.equal(events.length, 1);
      const e = events[0];
      assert.ok(e.type === "message" && e.isBinary && !e.compressed);
      assert.ok(e.data.equals(payload), "payload bytes");
    });
  }

  test("writeHeader writes FIN|RSV|opcode and a big-endian 64-bit length", () => {
    const out = Buffer.alloc(14);
    assert.equal(writeHeader(out, 0, 0x80 | 0x40 | 0x2, 2 ** 32 + 5), 10);
    assert.deepEqual([...out.subarray(0, 10)], [0xc2, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
    assert.equal(writeHeader(out, 0, 0x01, 300, Buffer.from([1, 2, 3, 4])), 8);
    assert.deepEqual([...out.subarray(0, 8)], [0x01, 0x80 | 126, 0x01, 0x2c, 1, 2, 3, 4]);
  });

  test("non-minimal length encodings are accepted (minimal encoding binds senders, §5.2)", () => {
    const bytes = cat(clientFrame({ opcode: 1, payload: "short", lengthBytes: 2 }), clientFrame({ opcode: 1, payload: "long", lengthBytes: 8 }));
    const events = feedEverySplit(bytes);
    assert.deepEqual(events.map((e) => e.type === "message" && e.data.toString()), ["short", "long"]);
  });

  test("a 64-bit length with the most significant bit set is 1002", () => {
    const header = Buffer.from([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, ...TEST_MASK_KEY]);
    assert.equal(errorCode(feedEverySplit(header)), 1002);
    // The error is reported as soon as the length is complete (no payload byte needed).
    assert.equal(feedBytewise(header)[0].at, header.length);
  });

  test("a 64-bit length above Number.MAX_SAFE_INTEGER (MSB clear) is 1009, not a crash", () => {
    const header = Buffer.from([0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...TEST_MASK_KEY]);
    assert.equal(errorCode(feedEverySplit(header)), 1009);
  });
});

describe("RFC 6455 §5.2 opcodes, FIN and RSV bits", () => {
  test("text is reported as text, binary as binary, empty frames as empty messages", () => {
    const events = feedEverySplit(cat(clientFrame({ opcode: 1, payload: "t" }), clientFrame({ opcode: 2, payload: "b" }), clientFrame({ opcode: 1 }), clientFrame({ opcode: 2 })));
    assert.deepEqual(
      events.map((e) => e.type === "message" && [e.isBinary, e.data.toString()]),
      [[false, "t"], [true, "b"], [false, ""], [true, ""]],
    );
  });

  for (const opcode of [3, 4, 5, 6, 7]) {
    test(`reserved non-control opcode 0x${opcode.toString(16)} is 1002`, () => {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: "x" }))), 1002);
    });
  }
  for (const opcode of [0xb, 0xc, 0xd, 0xe, 0xf]) {
    test(`reserved control opcode 0x${opcode.toString(16)} is 1002`, () => {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: "x" }))), 1002);
    });
  }

  for (const bit of ["rsv1", "rsv2", "rsv3"] as const) {
    for (const opcode of [1, 2, 9]) {
      test(`${bit.toUpperCase()} on opcode ${opcode} without a negotiated extension is 1002`, () => {
        assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: "x", [bit]: true }))), 1002);
      });
    }
  }

  test("RSV1 with a negotiated extension flags the message compressed; RSV2/RSV3 stay 1002", () => {
    const events = feedEverySplit(clientFrame({ opcode: 2, payload: "x", rsv1: true }), { allowRsv1: true });
    assert.ok(events[0].type === "message" && events[0].compressed);
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 2, payload: "x", rsv2: true }), { allowRsv1: true })), 1002);
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 2, payload: "x", rsv3: true }), { allowRsv1: true })), 1002);
  });

  test("events before an error are delivered; everything after it is ignored", () => {
    const bytes = cat(clientFrame({ opcode: 1, payload: "before" }), clientFrame({ opcode: 3 }), clientFrame({ opcode: 1, payload: "after" }), clientFrame({ opcode: 9 }));
    const events = feedEverySplit(bytes);
    assert.deepEqual(events.map((e) => e.type), ["message", "error"]);
    assert.equal(errorCode(events), 1002);
  });

  test("many frames in one chunk are all reported, in order", () => {
    const frames = Array.from({ length: 50 }, (_, i) => clientFrame({ opcode: 1, payload: `m${i}` }));
    const events = feedChunks([cat(...frames)]);
    assert.deepEqual(events.map((e) => e.type === "message" && e.data.toString()), frames.map((_, i) => `m${i}`));
  });
});
