// Property tests of the receiver (RFC 6455 §5) with fast-check: valid frame streams checked
// against a model, then mutated (bit flips, truncations, overwritten bytes, forged lengths,
// insertions) and split at random chunk boundaries, in both roles, with small maxPayload.
// Budget: WSX_FUZZ_RUNS runs per property (300 by default; `npm run fuzz` sets 20000).
// fast-check prints the seed and the shrunk counterexample of any failure.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { compressedLimit, type Receiver } from "../../src/protocol/receiver.js";
import { encodeFrame } from "../helpers/raw-client.js";
import { feedBytewise, feedChunks, splitAt, withoutOffsets, type FeedOptions, type ReceiverEvent } from "../protocol/feed.js";

const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 300);
/** RFC 6455 §7.4.1 codes a receiver may fail a connection with: protocol error, invalid data, too big. */
const FAILURE_CODES = new Set([1002, 1007, 1009]);
const MAX_HEADER = 14;

/** One message of a generated stream: its fragments, and control frames after some of them. */
interface ModelMessage {
  binary: boolean;
  payload: Buffer;
  /** Fragment boundaries inside the payload. */
  cuts: number[];
  /** Control frames (opcode 9 or 10) sent after fragment i, where i is the index. */
  controls: Array<{ after: number; opcode: 9 | 10; payload: Buffer }>;
}

const controlArb = fc.record({
  after: fc.nat({ max: 8 }),
  opcode: fc.constantFrom<9 | 10>(9, 10),
  payload: fc.uint8Array({ maxLength: 125 }).map((b) => Buffer.from(b)),
});

const messageArb: fc.Arbitrary<ModelMessage> = fc.oneof(
  fc.record({
    binary: fc.constant(true),
    payload: fc.uint8Array({ maxLength: 600, size: "large" }).map((b) => Buffer.from(b)),
    cuts: fc.array(fc.nat({ max: 600 }), { maxLength: 4 }),
    controls: fc.array(controlArb, { maxLength: 2 }),
  }),
  fc.record({
    binary: fc.constant(false),
    payload: fc.string({ unit: "grapheme", maxLength: 80, size: "large" }).map((s) => Buffer.from(s, "utf8")),
    cuts: fc.array(fc.nat({ max: 400 }), { maxLength: 4 }),
    controls: fc.array(controlArb, { maxLength: 2 }),
  }),
);

/** A whole stream: messages, optionally ended by a close frame. */
const streamArb = fc.record({
  messages: fc.array(messageArb, { maxLength: 5, size: "medium" }),
  close: fc.option(fc.record({ code: fc.constantFrom(1000, 1001, 3000, 4999), reason: fc.string({ unit: "grapheme-ascii", maxLength: 30 }) }), { nil: undefined }),
});

type Stream = { messages: ModelMessage[]; close: { code: number; reason: string } | undefined };

/** Encodes a stream as the given role's peer would send it; masks come from `maskSeed`. */
function encodeStream(stream: Stream, masked: boolean, maskSeed: number): Buffer {
  const frames: Buffer[] = [];
  let n = maskSeed;
  const frame = (opcode: number, payload: Buffer, fin = true): Buffer => {
    n = (Math.imul(n, 1103515245) + 12345) >>> 0;
    const maskKey = Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
    return encodeFrame({ opcode, payload, fin, mask: masked, maskKey });
  };
  for (const m of stream.messages) {
    const pieces = splitAt(m.payload, m.cuts);
    if (pieces.length === 0) pieces.push(Buffer.alloc(0));
    pieces.forEach((piece, i) => {
      frames.push(frame(i === 0 ? (m.binary ? 2 : 1) : 0, piece, i === pieces.length - 1));
      for (const c of m.controls) if (c.after % pieces.length === i) frames.push(frame(c.opcode, c.payload));
    });
  }
  if (stream.close !== undefined) {
    // RFC 6455 §5.5.1: a 2-byte code, then the reason (at most 30 ASCII characters here).
    const reason = Buffer.from(stream.close.reason, "utf8");
    const body = Buffer.alloc(2 + reason.length);
    body.writeUInt16BE(stream.close.code, 0);
    reason.copy(body, 2);
    frames.push(frame(8, body));
  }
  return Buffer.concat(frames);
}

/** The events a correct receiver reports for an unmutated stream. */
function expectedEvents(stream: Stream, maxPayload: number): unknown[] {
  const out: unknown[] = [];
  for (const m of stream.messages) {
    const pieces = splitAt(m.payload, m.cuts);
    if (pieces.length === 0) pieces.push(Buffer.alloc(0));
    let have = 0;
    for (let i = 0; i < pieces.length; i++) {
      have += pieces[i].length;
      if (have > maxPayload) {
        out.push({ type: "error", code: 1009 });
        return out;
      }
      // The message is reported at its final fragment, before the control frames sent after it.
      if (i === pieces.length - 1) out.push({ type: "message", data: m.payload.toString("hex"), isBinary: m.binary, compressed: false });
      for (const c of m.controls) if (c.after % pieces.length === i) out.push({ type: c.opcode === 9 ? "ping" : "pong", data: c.payload.toString("hex") });
    }
  }
  if (stream.close !== undefined) out.push({ type: "close", code: stream.close.code, reason: stream.close.reason });
  return out;
}

/** A mutation of the byte stream. */
type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "length"; at: number; value: number }
  | { kind: "head"; bit: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  // A forged 7-bit length or length marker (126/127) in a second header byte.
  fc.record({ kind: fc.constant("length" as const), at: fc.nat(), value: fc.constantFrom(0, 1, 125, 126, 127, 0xfe, 0xff) }),
  // FIN, RSV1-3 or an opcode bit of the first frame (RFC 6455 §5.2).
  fc.record({ kind: fc.constant("head" as const), bit: fc.nat({ max: 7 }) }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of mutations) {
    if (b.length === 0 && m.kind !== "insert") continue;
    if (m.kind === "head") {
      b[0] ^= 1 << m.bit;
      continue;
    }
    const at = m.at % Math.max(1, b.length);
    if (m.kind === "flip") b[at] ^= 1 << m.bit;
    else if (m.kind === "set" || m.kind === "length") b[at] = m.value;
    else if (m.kind === "truncate") b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
  }
  return b;
}

/**
 * What the receiver holds right now (white-box): the capacity of the message buffer (whether
 * the message is compressed, whose wire bytes may exceed maxPayload by compressedLimit's slack),
 * a split control frame's payload, the header.
 */
function held(receiver: Receiver): { data: number; compressed: boolean; control: number; header: number } {
  const r = receiver as unknown as { message: Buffer | null; messageCompressed: boolean; control: Buffer | null; headerHave: number };
  return { data: r.message === null ? 0 : r.message.length, compressed: r.messageCompressed, control: r.control === null ? 0 : r.control.length, header: r.headerHave };
}

/** Feeds `chunks`, checking the buffering bound after each one. */
function feedBounded(chunks: Buffer[], options: FeedOptions & { maxPayload: number }): ReceiverEvent[] {
  return feedChunks(chunks, {
    ...options,
    afterChunk: (r) => {
      const h = held(r);
      const bound = h.compressed ? compressedLimit(options.maxPayload) : options.maxPayload;
      assert.ok(h.data <= bound, `holds ${h.data} data bytes with maxPayload ${options.maxPayload}`);
      assert.ok(h.control <= 125, `holds ${h.control} control bytes`);
      assert.ok(h.header <= MAX_HEADER, `holds ${h.header} header bytes`);
    },
  });
}

/** The invariants every outcome must satisfy. */
function checkOutcome(events: readonly ReceiverEvent[], maxPayload: number, allowRsv1: boolean): void {
  const terminal = events.filter((e) => e.type === "error" || e.type === "close");
  assert.ok(terminal.length <= 1, `at most one close or error, got ${JSON.stringify(withoutOffsets(events))}`);
  if (terminal.length === 1) assert.equal(events.at(-1), terminal[0], "nothing after a close or an error");
  for (const e of events) {
    if (e.type === "error") assert.ok(FAILURE_CODES.has(e.code), `defined close code, got ${e.code}`);
    if (e.type === "message") {
      // A compressed message's wire bytes may exceed maxPayload by compressedLimit's slack:
      // maxPayload bounds it after inflation (RFC 7692 §8), which the transport checks.
      const bound = e.compressed ? compressedLimit(maxPayload) : maxPayload;
      assert.ok(e.data.length <= bound, `a message never exceeds ${e.compressed ? "compressedLimit(maxPayload)" : "maxPayload"}`);
      // RFC 6455 §5.2: RSV1 without a negotiated extension never yields a message.
      if (!allowRsv1) assert.equal(e.compressed, false, "a compressed message without an extension");
      if (!e.isBinary && !e.compressed) assert.ok(Buffer.from(e.data.toString("utf8"), "utf8").equals(e.data), "text is valid UTF-8");
    }
    if (e.type === "ping" || e.type === "pong") assert.ok(e.data.length <= 125, "control payload ≤ 125 bytes");
  }
}

const splitsArb = fc.array(fc.nat(), { maxLength: 8 });

describe("fuzz: the receiver", () => {
  test("valid streams in either role give exactly the model's events, however they are split", () => {
    fc.assert(
      fc.property(streamArb, fc.boolean(), fc.integer({ min: 1, max: 700 }), fc.nat(), splitsArb, (stream, isServer, maxPayload, maskSeed, cuts) => {
        const bytes = encodeStream(stream, isServer, maskSeed);
        const options = { isServer, maxPayload };
        const expected = expectedEvents(stream, maxPayload);
        const whole = feedBounded([bytes], options);
        assert.deepEqual(withoutOffsets(whole), expected);
        const split = feedBounded(splitAt(bytes, cuts.map((c) => c % (bytes.length + 1))), options);
        assert.deepEqual(withoutOffsets(split), withoutOffsets(whole));
      }),
      { numRuns: RUNS },
    );
  });

  test("mutated streams: never throws, one defined outcome, bounded buffering, split-independent", () => {
    fc.assert(
      fc.property(
        streamArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 700 }),
        fc.nat(),
        splitsArb,
        (stream, mutations, isServer, maxPayload, maskSeed, cuts) => {
          const bytes = mutate(encodeStream(stream, isServer, maskSeed), mutations);
          const options = { isServer, maxPayload, allowRsv1: false };
          const whole = feedBounded([bytes], options);
          checkOutcome(whole, maxPayload, false);
          const split = feedBounded(splitAt(bytes, cuts.map((c) => c % (bytes.length + 1))), options);
          assert.deepEqual(withoutOffsets(split), withoutOffsets(whole));
          if (bytes.length <= 2048) assert.deepEqual(withoutOffsets(feedBytewise(bytes, options)), withoutOffsets(whole));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("random bytes in either role, with or without RSV1 allowed: never throws, one defined outcome", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600, size: "large" }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 300 }), splitsArb, (data, isServer, allowRsv1, maxPayload, cuts) => {
        const bytes = Buffer.from(data);
        const options = { isServer, maxPayload, allowRsv1 };
        const whole = feedBounded([bytes], options);
        checkOutcome(whole, maxPayload, allowRsv1);
        assert.deepEqual(withoutOffsets(feedBytewise(bytes, options)), withoutOffsets(whole));
        assert.deepEqual(withoutOffsets(feedBounded(splitAt(bytes, cuts.map((c) => c % (bytes.length + 1))), options)), withoutOffsets(whole));
      }),
      { numRuns: RUNS },
    );
  });
});

