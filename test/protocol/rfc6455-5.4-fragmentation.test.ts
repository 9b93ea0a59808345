// RFC 6455 §5.4: fragmentation rules in the receiver.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rawFrame } from "../support/raw-peer.js";
import { feedEverySplit } from "../support/feed.js";

const cat = (...b: Buffer[]): Buffer => Buffer.concat(b);

describe("RFC 6455 §5.4 fragmentation", () => {
  test("fragments are joined into one message", () => {
    const ev = feedEverySplit(cat(rawFrame({ opcode: 2, payload: "ab", fin: false }), rawFrame({ opcode: 0, payload: "", fin: false }), rawFrame({ opcode: 0, payload: "cd" })));
    assert.equal(ev.length, 1);
    assert.equal(ev[0].type === "message" && ev[0].data.toString(), "abcd");
  });

  test("control frames may come between fragments and are reported first", () => {
    const ev = feedEverySplit(cat(rawFrame({ opcode: 1, payload: "a", fin: false }), rawFrame({ opcode: 9, payload: "p" }), rawFrame({ opcode: 0, payload: "b" })));
    assert.deepEqual(ev.map((e) => e.type), ["ping", "message"]);
  });

  test("continuation without a start is 1002", () => {
    const ev = feedEverySplit(rawFrame({ opcode: 0, payload: "x" }));
    assert.equal(ev[0].type === "error" && ev[0].code, 1002);
  });

  test("a new data frame inside a fragmented message is 1002", () => {
    const ev = feedEverySplit(cat(rawFrame({ opcode: 1, payload: "a", fin: false }), rawFrame({ opcode: 2, payload: "b" })));
    assert.equal(ev[0].type === "error" && ev[0].code, 1002);
  });

  test("RSV1 on a continuation frame is 1002 even with an extension", () => {
    const ev = feedEverySplit(cat(rawFrame({ opcode: 1, payload: "a", fin: false, rsv1: true }), rawFrame({ opcode: 0, payload: "b", rsv1: true })), { allowRsv1: true });
    assert.equal(ev[0].type === "error" && ev[0].code, 1002);
  });
});
