// RFC 6455 §10.4: maxPayload per message (and so per frame), refused before buffering.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rawFrame } from "../support/raw-peer.js";
import { feed, feedEverySplit } from "../support/feed.js";

describe("RFC 6455 §10.4 limits", () => {
  test("exactly maxPayload passes; one more byte is 1009", () => {
    assert.equal(feedEverySplit(rawFrame({ opcode: 2, payload: Buffer.alloc(100) }), { maxPayload: 100 })[0].type, "message");
    const ev = feedEverySplit(rawFrame({ opcode: 2, payload: Buffer.alloc(101) }), { maxPayload: 100 });
    assert.equal(ev[0].type === "error" && ev[0].code, 1009);
  });

  test("the error comes from the header alone, before any payload byte", () => {
    const header = rawFrame({ opcode: 2, payload: Buffer.alloc(1000) }).subarray(0, 8);
    const ev = feed(header, { maxPayload: 999 });
    assert.equal(ev[0].type === "error" && ev[0].code, 1009);
  });

  test("the sum of fragments counts", () => {
    const ev = feedEverySplit(Buffer.concat([rawFrame({ opcode: 2, payload: Buffer.alloc(60), fin: false }), rawFrame({ opcode: 0, payload: Buffer.alloc(60) })]), { maxPayload: 100 });
    assert.equal(ev[0].type === "error" && ev[0].code, 1009);
  });

  test("control frames do not count towards a message's size", () => {
    const ev = feedEverySplit(Buffer.concat([rawFrame({ opcode: 2, payload: Buffer.alloc(60), fin: false }), rawFrame({ opcode: 9, payload: Buffer.alloc(100) }), rawFrame({ opcode: 0, payload: Buffer.alloc(40) })]), { maxPayload: 100 });
    assert.deepEqual(ev.map((e) => e.type), ["ping", "message"]);
  });
});
