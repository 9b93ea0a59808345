// RFC 6455 §5.6 and §8.1: text is UTF-8 (RFC 3629), checked as the bytes arrive (fail fast).
// The reference is the WHATWG UTF-8 decoder (TextDecoder, fatal), an independent implementation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.js";
import { cat, clientFrame, errorCode, feedBytewise, feedChunks, feedEverySplit } from "./feed.js";

/** Index of the first byte at which `bytes` can no longer be UTF-8 (length when valid so far), per WHATWG. */
function referenceFailIndex(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return bytes.length;
}

function referenceValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Index at which the validator rejects `bytes` fed one byte at a time (length if never). */
function validatorFailIndex(bytes: Uint8Array): number {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) if (!v.feed(bytes, i, i + 1)) return i;
  return bytes.length;
}

/** Validates `bytes` in two pieces cut at `cut`. */
function validSplit(bytes: Uint8Array, cut: number): boolean {
  const v = new Utf8Validator();
  return v.feed(bytes.subarray(0, cut)) && v.feed(bytes.subarray(cut)) && v.complete;
}

/** Checks the validator against the reference: verdict, fail position, and every 2-way split. */
function agree(bytes: Uint8Array): void {
  const valid = referenceValid(bytes);
  const name = Buffer.from(bytes).toString("hex");
  assert.equal(isValidUtf8(bytes), valid, `isValidUtf8 ${name}`);
  const whole = new Utf8Validator();
  assert.equal(whole.feed(bytes) && whole.complete, valid, `whole ${name}`);
  assert.equal(validatorFailIndex(bytes), referenceFailIndex(bytes), `fail-fast index ${name}`);
  for (let cut = 0; cut <= bytes.length; cut++) assert.equal(validSplit(bytes, cut), valid, `${name} split at ${cut}`);
}

const CONTINUATION_EDGES = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];

describe("RFC 3629 UTF-8 validator (incremental)", () => {
  test("every 1- and 2-byte sequence agrees with the WHATWG decoder", () => {
    for (let a = 0; a < 256; a++) {
      agree(Uint8Array.of(a));
      for (let b = 0; b < 256; b++) agree(Uint8Array.of(a, b));
    }
  });

  test("3-byte sequences: every lead and second byte with the continuation edge cases agree", () => {
    for (let a = 0xc0; a < 256; a++) for (let b = 0; b < 256; b++) for (const c of CONTINUATION_EDGES) agree(Uint8Array.of(a, b, c));
  });

  test("4-byte sequences around U+10000 and U+10FFFF agree", () => {
    for (let a = 0xf0; a <= 0xf7; a++) for (const b of CONTINUATION_EDGES) for (const c of CONTINUATION_EDGES) for (const d of CONTINUATION_EDGES) agree(Uint8Array.of(a, b, c, d));
  });

  const named: Array<[string, number[], boolean]> = [
    ["U+007F", [0x7f], true],
    ["U+0080", [0xc2, 0x80], true],
    ["U+07FF", [0xdf, 0xbf], true],
    ["U+0800", [0xe0, 0xa0, 0x80], true],
    ["U+D7FF (last before the surrogates)", [0xed, 0x9f, 0xbf], true],
    ["U+E000 (first after the surrogates)", [0xee, 0x80, 0x80], true],
    ["U+FFFF", [0xef, 0xbf, 0xbf], true],
    ["U+10000", [0xf0, 0x90, 0x80, 0x80], true],
    ["U+10FFFF", [0xf4, 0x8f, 0xbf, 0xbf], true],
    ["surrogate U+D800", [0xed, 0xa0, 0x80], false],
    ["surrogate U+DFFF", [0xed, 0xbf, 0xbf], false],
    ["surrogate pair as CESU-8", [0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9], false],
    ["overlong NUL (c0 80)", [0xc0, 0x80], false],
    ["overlong c1 bf", [0xc1, 0xbf], false],
    ["overlong 3-byte (e0 80 af)", [0xe0, 0x80, 0xaf], false],
    ["overlong 3-byte U+07FF", [0xe0, 0x9f, 0xbf], false],
    ["overlong 4-byte (f0 80 80 af)", [0xf0, 0x80, 0x80, 0xaf], false],
    ["overlong 4-byte U+FFFF", [0xf0, 0x8f, 0xbf, 0xbf], false],
    ["U+110000 (f4 90 80 80)", [0xf4, 0x90, 0x80, 0x80], false],
    ["lead f5", [0xf5, 0x80, 0x80, 0x80], false],
    ["lead ff", [0xff], false],
    ["lone continuation", [0x80], false],
    ["truncated 2-byte", [0x61, 0xc3], false],
    ["truncated 3-byte", [0x61, 0xe2, 0x82], false],
    ["truncated 4-byte", [0xf0, 0x9f, 0x98], false],
    ["truncated sequence followed by ASCII", [0xe2, 0x82, 0x41], false],
  ];
  for (const [name, bytes, valid] of named) {
    test(`${valid ? "valid" : "invalid"}: ${name}`, () => {
      const b = Uint8Array.from(bytes);
      assert.equal(referenceValid(b), valid, "the reference agrees with the test's expectation");
      agree(b);
      // Inside longer text, at every alignment.
      for (const pad of [0, 1, 2, 3, 37]) agree(cat(Buffer.alloc(pad, 0x61), Buffer.from(b), Buffer.from("ok")));
    });
  }

  test("reset() forgets a sequence left open", () => {
    const v = new Utf8Validator();
    assert.ok(v.feed(Uint8Array.of(0xe2)));
    assert.equal(v.complete, false);
    v.reset();
    assert.ok(v.complete);
    assert.ok(v.feed(Uint8Array.of(0x41)));
  });

  test("a long valid text fed in pieces of every size 1-17 is accepted", () => {
    const text = Buffer.from("κόσμε €𝄞 ascii ✓ ".repeat(40));
    for (let size = 1; size <= 17; size++) {
      const v = new Utf8Validator();
      for (let i = 0; i < text.length; i += size) assert.ok(v.feed(text, i, Math.min(text.length, i + size)), `piece size ${size} at ${i}`);
      assert.ok(v.complete);
    }
  });
});

describe("RFC 6455 §8.1 UTF-8 in the receiver", () => {
  test("valid text split inside a multi-byte character, at every cut, across fragments", () => {
    const text = Buffer.from("a€𝄞ü");
    for (let cut = 0; cut <= text.length; cut++) {
      const bytes = cat(clientFrame({ opcode: 1, payload: text.subarray(0, cut), fin: false }), clientFrame({ opcode: 0, payload: text.subarray(cut) }));
      const events = feedEverySplit(bytes);
      assert.ok(events.length === 1 && events[0].type === "message" && events[0].data.equals(text), `cut ${cut}`);
    }
  });

  test("invalid text in a single frame is 1007", () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82]]) {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 1, payload: Uint8Array.from(bad) }))), 1007);
    }
  });

  test("a message ending inside a sequence is 1007 at its final fragment", () => {
    const bytes = cat(clientFrame({ opcode: 1, payload: Uint8Array.of(0x61, 0xe2), fin: false }), clientFrame({ opcode: 0, payload: Uint8Array.of(0x82) }));
    assert.equal(errorCode(feedEverySplit(bytes)), 1007);
    assert.equal(feedBytewise(bytes)[0].at, bytes.length);
  });

  test("fail fast inside one frame: the error fires at the invalid byte, not at the end of the frame", () => {
    const payload = Buffer.alloc(1000, 0x61);
    payload[300] = 0xff;
    const frame = clientFrame({ opcode: 1, payload });
    const header = frame.length - payload.length;
    const events = feedBytewise(frame);
    assert.equal(errorCode(events), 1007);
    assert.equal(events[0].at, header + 301, "reported when byte 300 of the payload arrived");
    // In chunks: the chunk holding the bad byte triggers it; the rest of the frame never came.
    const early = feedChunks([frame.subarray(0, header + 400)]);
    assert.equal(errorCode(early), 1007);
  });

  test("fail fast across fragments: the error fires in a non-final fragment, before the message ends", () => {
    const first = clientFrame({ opcode: 1, payload: "fine so far ", fin: false });
    const second = clientFrame({ opcode: 0, payload: Uint8Array.of(0x61, 0xed, 0xa0, 0x80, 0x62), fin: false });
    const events = feedBytewise(cat(first, second));
    assert.equal(errorCode(events), 1007);
    // 0xed is a valid lead; 0xa0 after it would be a surrogate: that byte is the failure.
    assert.equal(events[0].at, first.length + (second.length - 5) + 3);
    // Delivered whole, each fragment is checked as it completes; no final fragment is needed.
    assert.equal(errorCode(feedChunks([first, second])), 1007);
  });

  test("a sequence split across fragments that turns out invalid fails at the byte that decides it", () => {
    const first = clientFrame({ opcode: 1, payload: Uint8Array.of(0xf4), fin: false });
    const second = clientFrame({ opcode: 0, payload: Uint8Array.of(0x90, 0x80, 0x80) });
    const events = feedBytewise(cat(first, second));
    assert.equal(errorCode(events), 1007);
    assert.equal(events[0].at, first.length + (second.length - 3) + 1);
  });

  test("binary messages are not checked; compressed text is left for after inflation", () => {
    const bin = feedEverySplit(clientFrame({ opcode: 2, payload: Uint8Array.of(0xff, 0xfe) }));
    assert.equal(bin[0].type, "message");
    const compressed = feedEverySplit(clientFrame({ opcode: 1, payload: Uint8Array.of(0xff), rsv1: true }), { allowRsv1: true });
    assert.ok(compressed[0].type === "message" && compressed[0].compressed);
  });
});
