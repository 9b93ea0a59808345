// The receiver's one-pass path for bursts of short one-frame messages (RFC 6455 §5.2: first
// byte 0x81/0x82, 7-bit length): the same events as the general path, whatever the split, and
// every rule still enforced when the offending frame sits inside a burst.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Receiver } from "../../src/protocol/receiver.js";
import { encodeFrame } from "../helpers/raw-client.js";
import { cat, clientFrame, errorCode, feedChunks, feedEverySplit, serverFrame } from "./feed.js";

/** Three good short messages, to put before a frame under test. */
function goodBurst(): Buffer {
  return cat(clientFrame({ opcode: 2, payload: Uint8Array.of(0xff, 0x00, 0x80) }), clientFrame({ opcode: 1, payload: "hello" }), clientFrame({ opcode: 1, payload: "" }));
}

function messagesBefore(events: ReturnType<typeof feedChunks>): number {
  return events.filter((e) => e.type === "message").length;
}

describe("receiver: bursts of short one-frame messages", () => {
  test("every length 0-125, text (ASCII and not) and binary, with a ping among them: the same events at every split", () => {
    const frames: Buffer[] = [];
    const expected: Array<{ isBinary: boolean; data: Buffer }> = [];
    for (let n = 0; n <= 125; n++) {
      const bin = Buffer.alloc(n, (n * 37) & 0xff);
      frames.push(clientFrame({ opcode: 2, payload: bin }));
      expected.push({ isBinary: true, data: bin });
      // Text with a multi-byte character whenever it fits (then bit 7 is set in the payload).
      const text = Buffer.from(n >= 3 ? `${"a".repeat(n - 3)}€` : "z".repeat(n), "utf8");
      frames.push(clientFrame({ opcode: 1, payload: text }));
      expected.push({ isBinary: false, data: text });
      if (n === 60) frames.push(clientFrame({ opcode: 9, payload: "p" }));
    }
    const events = feedEverySplit(cat(...frames), {}, 4);
    const messages = events.filter((e) => e.type === "message");
    assert.equal(messages.length, expected.length);
    messages.forEach((m, i) => {
      assert.ok(m.type === "message" && m.isBinary === expected[i].isBinary && m.data.equals(expected[i].data) && !m.compressed, `message ${i}`);
    });
    assert.equal(events.filter((e) => e.type === "ping").length, 1);
  });

  test("invalid UTF-8 anywhere in a short text frame of a burst: the messages before it, then 1007", () => {
    for (let at = 0; at < 32; at++) {
      for (const bad of [0xff, 0x80, 0xc0]) {
        const payload = Buffer.alloc(32, 0x61);
        payload[at] = bad;
        const events = feedChunks([cat(goodBurst(), clientFrame({ opcode: 1, payload }), clientFrame({ opcode: 2, payload: "after" }))]);
        assert.equal(errorCode(events), 1007, `byte ${bad} at ${at}`);
        assert.equal(messagesBefore(events), 3);
      }
    }
    // Valid non-ASCII right up to the end, and a sequence cut by the end of the frame.
    const ok = feedChunks([cat(goodBurst(), clientFrame({ opcode: 1, payload: "aaaa€" }))]);
    assert.equal(messagesBefore(ok), 4);
    const cut = feedChunks([cat(goodBurst(), clientFrame({ opcode: 1, payload: Buffer.from("aaaa€").subarray(0, 6) }))]);
    assert.equal(errorCode(cut), 1007);
  });

  test("a frame breaking a rule inside a burst gets its close code after the messages before it", () => {
    const cases: Array<[string, Buffer, number, { maxPayload?: number }?]> = [
      ["unmasked frame from a client (§5.1)", encodeFrame({ opcode: 2, payload: "x", mask: false }), 1002],
      ["RSV1 without an extension (§5.2)", clientFrame({ opcode: 2, payload: "x", rsv1: true }), 1002],
      ["RSV2 (§5.2)", clientFrame({ opcode: 2, payload: "x", rsv2: true }), 1002],
      ["reserved opcode 3 (§5.2)", clientFrame({ opcode: 3, payload: "x" }), 1002],
      ["continuation without a message (§5.4)", clientFrame({ opcode: 0, payload: "x" }), 1002],
      ["over maxPayload (§10.4)", clientFrame({ opcode: 2, payload: Buffer.alloc(10) }), 1009, { maxPayload: 9 }],
    ];
    for (const [name, frame, code, options] of cases) {
      const events = feedChunks([cat(goodBurst(), frame, clientFrame({ opcode: 2, payload: "after" }))], options);
      assert.equal(errorCode(events), code, name);
      assert.equal(messagesBefore(events), 3, name);
    }
  });

  test("a fragmented message inside a burst: a new data frame before its end is 1002", () => {
    const events = feedChunks([cat(goodBurst(), clientFrame({ opcode: 1, payload: "ab", fin: false }), clientFrame({ opcode: 2, payload: "x" }))]);
    assert.equal(errorCode(events), 1002);
    assert.equal(messagesBefore(events), 3);
  });

  test("pausing in a handler mid-burst holds the rest, in order, until resume", () => {
    const got: string[] = [];
    let receiver: Receiver | null = null;
    receiver = new Receiver(
      {
        onMessage: (data) => {
          got.push(data.toString());
          if (got.length === 2) receiver!.pause();
        },
        onPing: () => {},
        onPong: () => {},
        onClose: () => {},
        onProtocolError: (e) => assert.fail(e.message),
      },
      { isServer: true, maxPayload: 1024 },
    );
    receiver.push(cat(...["m0", "m1", "m2", "m3"].map((s) => clientFrame({ opcode: 1, payload: s }))));
    assert.deepEqual(got, ["m0", "m1"]);
    receiver.push(clientFrame({ opcode: 2, payload: "m4" }));
    assert.deepEqual(got, ["m0", "m1"]);
    receiver.resume();
    assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4"]);
  });

  test("client role: bursts of unmasked frames, and a masked frame from a server is 1002", () => {
    const burst = cat(serverFrame({ opcode: 1, payload: "abc" }), serverFrame({ opcode: 2, payload: Uint8Array.of(0xfe) }));
    const events = feedEverySplit(burst, { isServer: false });
    assert.equal(messagesBefore(events), 2);
    const bad = feedChunks([cat(burst, clientFrame({ opcode: 2, payload: "x" }))], { isServer: false });
    assert.equal(errorCode(bad), 1002);
    assert.equal(messagesBefore(bad), 2);
    const invalid = feedChunks([cat(burst, serverFrame({ opcode: 1, payload: Uint8Array.of(0x61, 0xff) }))], { isServer: false });
    assert.equal(errorCode(invalid), 1007);
  });
});
