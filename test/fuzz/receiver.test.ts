// Property tests: random and mutated byte streams, split anywhere, into the receiver.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { rawFrame } from "../support/raw-peer.js";
import { feed, type Event } from "../support/feed.js";

const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 300);
const CODES = new Set([1002, 1007, 1009]);

const frameArb = fc.record({
  opcode: fc.constantFrom(0, 1, 2, 8, 9, 10, 3, 11),
  payload: fc.uint8Array({ maxLength: 300 }),
  fin: fc.boolean(),
  rsv1: fc.boolean(),
  mask: fc.boolean(),
});

function check(events: Event[], maxPayload: number): void {
  const errors = events.filter((e) => e.type === "error");
  assert.ok(errors.length <= 1, "at most one protocol error");
  if (errors.length === 1) {
    assert.equal(events.at(-1)!.type, "error", "the error is the last event");
    assert.ok(CODES.has((errors[0] as { code: number }).code), `defined close code, got ${JSON.stringify(errors[0])}`);
  }
  const closes = events.filter((e) => e.type === "close");
  assert.ok(closes.length <= 1);
  if (closes.length === 1) assert.equal(events.at(-1)!.type, "close", "nothing after a close");
  for (const e of events) if (e.type === "message") assert.ok(e.data.length <= maxPayload, "never beyond maxPayload");
}

const normalize = (e: Event[]): string => JSON.stringify(e.map((x) => ("data" in x ? { ...x, data: x.data.toString("hex") } : x)));

describe("fuzz: the receiver", () => {
  test("frame sequences, mutated and split at random points: never throws, defined outcome, split-independent", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 400 }),
        (frames, cuts, flips, isServer, maxPayload) => {
          let bytes = Buffer.concat(frames.map((f) => rawFrame({ ...f, payload: Buffer.from(f.payload) })));
          bytes = Buffer.from(bytes);
          for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] ^= v;
          const splits = cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1)));
          const whole = feed(bytes, { isServer, maxPayload, allowRsv1: false });
          const split = feed(bytes, { isServer, maxPayload, splits });
          check(whole, maxPayload);
          assert.equal(normalize(split), normalize(whole));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("pure random bytes, byte by byte: never throws, at most one error with a defined code", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.boolean(), (data, isServer) => {
        const events = feed(Buffer.from(data), { isServer, maxPayload: 256, splits: "bytewise" });
        check(events, 256);
      }),
      { numRuns: RUNS },
    );
  });

  test("valid text split into random fragments always arrives whole", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), fc.array(fc.nat(), { maxLength: 5 }), (text, cuts) => {
        const bytes = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let at = 0;
        for (const p of [...points, bytes.length]) {
          pieces.push(bytes.subarray(at, p));
          at = p;
        }
        const frames = pieces.map((p, i) => rawFrame({ opcode: i === 0 ? 1 : 0, payload: p, fin: i === pieces.length - 1 }));
        const ev = feed(Buffer.concat(frames), { splits: cuts.map((c) => c % 50) });
        assert.equal(ev.length, 1);
        assert.equal(ev[0].type === "message" && ev[0].data.toString(), text);
      }),
      { numRuns: RUNS },
    );
  });
});
