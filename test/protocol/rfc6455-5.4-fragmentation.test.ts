// RFC 6455 §5.4: fragmented messages in the receiver.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cat, clientFrame, errorCode, feedBytewise, feedEverySplit } from "./feed.js";

describe("RFC 6455 §5.4 fragmentation", () => {
  test("fragments (including empty ones) are joined into one message, delivered at FIN only", () => {
    const bytes = cat(
      clientFrame({ opcode: 2, payload: "ab", fin: false }),
      clientFrame({ opcode: 0, payload: "", fin: false }),
      clientFrame({ opcode: 0, payload: "cd", fin: false }),
      clientFrame({ opcode: 0, payload: "e" }),
    );
    const events = feedEverySplit(bytes);
    assert.equal(events.length, 1);
    const e = events[0];
    assert.ok(e.type === "message" && e.isBinary && e.data.toString() === "abcde");
    // Nothing is reported before the final fragment is complete.
    assert.equal(feedBytewise(bytes)[0].at, bytes.length);
  });

  test("the first fragment's opcode gives the message type", () => {
    const text = feedEverySplit(cat(clientFrame({ opcode: 1, payload: "t", fin: false }), clientFrame({ opcode: 0, payload: "x" })));
    assert.ok(text[0].type === "message" && !text[0].isBinary && text[0].data.toString() === "tx");
  });

  test("a message in 1-byte fragments, each frame split anywhere, arrives whole", () => {
    const message = Buffer.from("fragments of a longer text message ✓");
    const frames = [...message].map((b, i) => clientFrame({ opcode: i === 0 ? 1 : 0, payload: Buffer.from([b]), fin: i === message.length - 1 }));
    const events = feedEverySplit(cat(...frames));
    assert.equal(events.length, 1);
    assert.ok(events[0].type === "message" && events[0].data.equals(message));
  });

  test("large fragments spanning chunks are joined byte-exact", () => {
    const a = Buffer.alloc(70_000, 0x61);
    const b = Buffer.alloc(300, 0x62);
    const events = feedEverySplit(cat(clientFrame({ opcode: 2, payload: a, fin: false }), clientFrame({ opcode: 0, payload: b })), {}, 4);
    assert.ok(events[0].type === "message" && events[0].data.equals(cat(a, b)));
  });

  test("control frames may be injected between fragments (§5.4) and are reported first", () => {
    const bytes = cat(
      clientFrame({ opcode: 1, payload: "a", fin: false }),
      clientFrame({ opcode: 9, payload: "ping" }),
      clientFrame({ opcode: 0, payload: "b", fin: false }),
      clientFrame({ opcode: 10, payload: "pong" }),
      clientFrame({ opcode: 0, payload: "c" }),
    );
    const events = feedEverySplit(bytes);
    assert.deepEqual(events.map((e) => e.type), ["ping", "pong", "message"]);
    assert.ok(events[2].type === "message" && events[2].data.toString() === "abc");
  });

  test("a close frame in the middle of a fragmented message ends it (the partial message is dropped)", () => {
    const events = feedEverySplit(cat(clientFrame({ opcode: 1, payload: "a", fin: false }), clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }), clientFrame({ opcode: 0, payload: "b" })));
    assert.deepEqual(events.map((e) => e.type), ["close"]);
  });

  test("a continuation frame with no message in progress is 1002", () => {
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 0, payload: "x" }))), 1002);
    assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 0, payload: "x", fin: false }))), 1002);
    // Also right after a complete message.
    const after = feedEverySplit(cat(clientFrame({ opcode: 1, payload: "done" }), clientFrame({ opcode: 0, payload: "x" })));
    assert.deepEqual(after.map((e) => e.type), ["message", "error"]);
    assert.equal(errorCode(after), 1002);
  });

  test("a new text or binary frame inside a fragmented message is 1002", () => {
    for (const opcode of [1, 2]) {
      assert.equal(errorCode(feedEverySplit(cat(clientFrame({ opcode: 1, payload: "a", fin: false }), clientFrame({ opcode, payload: "b" })))), 1002);
    }
  });

  test("a fragmented control frame (FIN clear) is 1002 (§5.5)", () => {
    for (const opcode of [8, 9, 10]) {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode, payload: "", fin: false }))), 1002, `opcode ${opcode}`);
    }
  });

  test("RSV1 on a continuation frame is 1002 even with an extension (RFC 7692 §6.1)", () => {
    const bytes = cat(clientFrame({ opcode: 1, payload: "a", fin: false, rsv1: true }), clientFrame({ opcode: 0, payload: "b", rsv1: true }));
    assert.equal(errorCode(feedEverySplit(bytes, { allowRsv1: true })), 1002);
    const ok = feedEverySplit(cat(clientFrame({ opcode: 2, payload: "a", fin: false, rsv1: true }), clientFrame({ opcode: 0, payload: "b" })), { allowRsv1: true });
    assert.ok(ok[0].type === "message" && ok[0].compressed && ok[0].data.toString() === "ab");
  });

  test("after a fragmented message ends, a new message may start", () => {
    const events = feedEverySplit(cat(clientFrame({ opcode: 1, payload: "a", fin: false }), clientFrame({ opcode: 0, payload: "b" }), clientFrame({ opcode: 2, payload: "c", fin: false }), clientFrame({ opcode: 0, payload: "d" })));
    assert.deepEqual(events.map((e) => e.type === "message" && [e.isBinary, e.data.toString()]), [[false, "ab"], [true, "cd"]]);
  });
});
