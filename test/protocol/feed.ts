/**
 * Feeds bytes into the sans-I/O {@link Receiver} and records what it reports, so that every
 * unit test can run the same input whole, one byte at a time and at random split points and
 * require the same events each time.
 *
 * Frames are built with the raw client's encoder (test/helpers/raw-client.ts), which is
 * independent of wsx's own frame code.
 */
import assert from "node:assert/strict";
import type { ProtocolError } from "../../src/protocol/errors.js";
import { Receiver, type ReceiverHandler } from "../../src/protocol/receiver.js";
import { encodeFrame, type FrameSpec } from "../helpers/raw-client.js";

/** One event reported by the receiver; `at` is the number of input bytes pushed when it fired. */
export type ReceiverEvent =
  | { type: "message"; data: Buffer; isBinary: boolean; compressed: boolean; at: number }
  | { type: "ping" | "pong"; data: Buffer; at: number }
  | { type: "close"; code: number; reason: string; at: number }
  | { type: "error"; code: number; message: string; at: number };

/** Receiver settings for a feed; defaults: server role, 16 MiB limit, no RSV1. */
export interface FeedOptions {
  /** Server role (expects masked frames); default true. */
  isServer?: boolean;
  /** maxPayload; default 16 MiB. */
  maxPayload?: number;
  /** Whether RSV1 is allowed (an extension was negotiated); default false. */
  allowRsv1?: boolean;
  /** Called after every chunk with the receiver, e.g. to inspect what it holds. */
  afterChunk?: (receiver: Receiver, consumed: number) => void;
}

/** The masking key of {@link clientFrame}: fixed, so the bytes are the same on every run. */
export const TEST_MASK_KEY = Uint8Array.of(0x9a, 0x3c, 0x55, 0xe1);

/** A frame as a client sends it (masked, RFC 6455 §5.3), unless `mask: false`. */
export function clientFrame(spec: FrameSpec): Buffer {
  return encodeFrame({ maskKey: TEST_MASK_KEY, ...spec, mask: spec.mask ?? true });
}

/** A frame as a server sends it (unmasked). */
export function serverFrame(spec: FrameSpec): Buffer {
  return encodeFrame({ ...spec, mask: spec.mask ?? false });
}

/** A close frame payload: the 2-byte code then `reason` (bytes or UTF-8 text). */
export function closeBody(code: number, reason: string | Uint8Array = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

/** Cuts `bytes` at the given offsets (any order, duplicates and out-of-range ignored). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at || (p === 0 && bytes.length === 0)) out.push(bytes.subarray(at, p));
    at = p;
  }
  return out;
}

/** Pushes `chunks` (copied: the receiver unmasks in place) into a new receiver; returns its events. */
export function feedChunks(chunks: readonly Buffer[], options: FeedOptions = {}): ReceiverEvent[] {
  const events: ReceiverEvent[] = [];
  let consumed = 0;
  const handler: ReceiverHandler = {
    onMessage: (data, isBinary, compressed) => void events.push({ type: "message", data: Buffer.from(data), isBinary, compressed, at: consumed }),
    onPing: (data) => void events.push({ type: "ping", data: Buffer.from(data), at: consumed }),
    onPong: (data) => void events.push({ type: "pong", data: Buffer.from(data), at: consumed }),
    onClose: (code, reason) => void events.push({ type: "close", code, reason, at: consumed }),
    onProtocolError: (e: ProtocolError) => void events.push({ type: "error", code: e.closeCode, message: e.message, at: consumed }),
  };
  const receiver = new Receiver(handler, {
    isServer: options.isServer ?? true,
    maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
    allowRsv1: options.allowRsv1,
  });
  for (const chunk of chunks) {
    consumed += chunk.length;
    receiver.push(Buffer.from(chunk));
    options.afterChunk?.(receiver, consumed);
  }
  return events;
}

/** Feeds `bytes` one byte at a time. Event `at` values are then exact byte offsets. */
export function feedBytewise(bytes: Buffer, options: FeedOptions = {}): ReceiverEvent[] {
  return feedChunks(splitAt(bytes, Array.from({ length: bytes.length }, (_, i) => i)), options);
}

/** A small seeded PRNG (mulberry32): random splits that are the same on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Events without what may depend on the split (the `at` offsets, the wording of an error
 * message), for comparisons; close codes, payloads and order are kept.
 */
export function withoutOffsets(events: readonly ReceiverEvent[]): unknown[] {
  return events.map(({ at: _at, ...rest }) => {
    if (rest.type === "error") return { type: rest.type, code: rest.code };
    return "data" in rest ? { ...rest, data: rest.data.toString("hex") } : rest;
  });
}

/**
 * Feeds `bytes` whole, one byte at a time, and at `randomSplits` seeded random split points;
 * asserts that every way gives the same events, and returns them (from the whole feed).
 */
export function feedEverySplit(bytes: Buffer, options: FeedOptions = {}, randomSplits = 8): ReceiverEvent[] {
  const whole = feedChunks([bytes], options);
  const expected = withoutOffsets(whole);
  assert.deepEqual(withoutOffsets(feedBytewise(bytes, options)), expected, "fed one byte at a time");
  const random = seededRandom(bytes.length * 7919 + 17);
  for (let i = 0; i < randomSplits; i++) {
    const cuts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * (bytes.length + 1)));
    assert.deepEqual(withoutOffsets(feedChunks(splitAt(bytes, cuts), options)), expected, `split at ${cuts.join(",")}`);
  }
  return whole;
}

/** The close code of the single protocol error in `events` (asserts there is exactly one, last). */
export function errorCode(events: readonly ReceiverEvent[]): number {
  const errors = events.filter((e) => e.type === "error");
  assert.equal(errors.length, 1, `expected one protocol error, got ${JSON.stringify(withoutOffsets(events))}`);
  assert.equal(events.at(-1)!.type, "error", "the error is the last event");
  return (errors[0] as { code: number }).code;
}

/** Concatenates frames. */
export function cat(...frames: Buffer[]): Buffer {
  return Buffer.concat(frames);
}
