// RFC 6455 §10.4: implementation limits. maxPayload bounds every message (and so every frame);
// a larger one is refused with 1009 (§7.4.1) from its header, before its bytes are buffered.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Receiver } from "../../src/protocol/receiver.js";
import { cat, clientFrame, errorCode, feedBytewise, feedChunks, feedEverySplit } from "./feed.js";

/** Payload bytes the receiver holds for the message in progress (white-box, for the bound). */
function heldBytes(receiver: Receiver): number {
  // White-box: the capacity of the message buffer and of a split control frame's payload.
  const r = receiver as unknown as { message: Buffer | null; control: Buffer | null };
  return (r.message === null ? 0 : r.message.length) + (r.control === null ? 0 : r.control.length);
}

describe("RFC 6455 §10.4 maxPayload", () => {
  test("a message of exactly maxPayload bytes passes; one more byte is 1009", () => {
    for (const limit of [1, 125, 126, 65536]) {
      const ok = feedEverySplit(clientFrame({ opcode: 2, payload: Buffer.alloc(limit, 1) }), { maxPayload: limit }, 2);
      assert.ok(ok[0].type === "message" && ok[0].data.length === limit, `limit ${limit}`);
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 2, payload: Buffer.alloc(limit + 1, 1) }), { maxPayload: limit }, 2)), 1009, `limit ${limit}`);
    }
  });

  test("per frame: the 1009 comes from the header alone, before any payload byte", () => {
    for (const size of [101, 1000, 70_000]) {
      const frame = clientFrame({ opcode: 2, payload: Buffer.alloc(size) });
      const header = frame.length - size;
      // Only the header is ever pushed.
      assert.equal(errorCode(feedChunks([frame.subarray(0, header)], { maxPayload: 100 })), 1009);
      // Fed byte by byte, the error fires at the last header byte.
      const events = feedBytewise(frame.subarray(0, header + 5), { maxPayload: 100 });
      assert.equal(errorCode(events), 1009);
      assert.equal(events[0].at, header);
    }
  });

  test("across fragments: the fragment that would cross the limit is refused from its header", () => {
    const first = clientFrame({ opcode: 2, payload: Buffer.alloc(60), fin: false });
    const second = clientFrame({ opcode: 0, payload: Buffer.alloc(60) });
    assert.equal(errorCode(feedEverySplit(cat(first, second), { maxPayload: 100 })), 1009);
    const events = feedBytewise(cat(first, second), { maxPayload: 100 });
    assert.equal(events[0].at, first.length + (second.length - 60), "at the end of the second header");
    // Exactly the limit across fragments passes.
    const exact = feedEverySplit(cat(first, clientFrame({ opcode: 0, payload: Buffer.alloc(40) })), { maxPayload: 100 });
    assert.ok(exact[0].type === "message" && exact[0].data.length === 100);
  });

  test("many small fragments add up: the one that crosses the limit is 1009", () => {
    const frames = Array.from({ length: 30 }, (_, i) => clientFrame({ opcode: i === 0 ? 1 : 0, payload: "0123456789", fin: i === 29 }));
    const events = feedEverySplit(cat(...frames), { maxPayload: 255 });
    assert.equal(errorCode(events), 1009);
  });

  test("the limit is per message: it starts again after each message", () => {
    const frames = Array.from({ length: 5 }, () => clientFrame({ opcode: 2, payload: Buffer.alloc(100) }));
    const events = feedEverySplit(cat(...frames), { maxPayload: 100 });
    assert.deepEqual(events.map((e) => e.type), ["message", "message", "message", "message", "message"]);
  });

  test("control frames between fragments do not count towards the message", () => {
    const bytes = cat(clientFrame({ opcode: 2, payload: Buffer.alloc(60), fin: false }), clientFrame({ opcode: 9, payload: Buffer.alloc(100) }), clientFrame({ opcode: 0, payload: Buffer.alloc(40) }));
    assert.deepEqual(feedEverySplit(bytes, { maxPayload: 100 }).map((e) => e.type), ["ping", "message"]);
  });

  test("while a large message arrives in small chunks, the receiver never holds more than maxPayload", () => {
    const limit = 10_000;
    let peak = 0;
    const frames = cat(clientFrame({ opcode: 2, payload: Buffer.alloc(6000, 7), fin: false }), clientFrame({ opcode: 0, payload: Buffer.alloc(4000, 8) }), clientFrame({ opcode: 2, payload: Buffer.alloc(20_000) }));
    const chunks: Buffer[] = [];
    for (let i = 0; i < frames.length; i += 97) chunks.push(frames.subarray(i, i + 97));
    const events = feedChunks(chunks, { maxPayload: limit, afterChunk: (r) => (peak = Math.max(peak, heldBytes(r))) });
    assert.deepEqual(events.map((e) => e.type), ["message", "error"]);
    assert.equal(errorCode(events), 1009);
    assert.ok(peak <= limit, `held ${peak} bytes with a limit of ${limit}`);
    assert.ok(peak >= 6000, "the white-box probe sees the fragments it holds");
  });
});
