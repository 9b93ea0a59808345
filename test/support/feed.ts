/** Feeds bytes into a sans-I/O Receiver and records what it reports. */
import { Receiver, type ReceiverHandler } from "../../src/protocol/receiver.js";
import type { ProtocolError } from "../../src/protocol/errors.js";

/** One recorded event. */
export type Event =
  | { type: "message"; data: Buffer; isBinary: boolean; compressed: boolean }
  | { type: "ping" | "pong"; data: Buffer }
  | { type: "close"; code: number; reason: string }
  | { type: "error"; code: number; message: string };

/** Runs `bytes` through a new receiver, split into chunks at `splits` (offsets). */
export function feed(bytes: Buffer, options: { isServer?: boolean; maxPayload?: number; allowRsv1?: boolean; splits?: number[] | "bytewise" } = {}): Event[] {
  const events: Event[] = [];
  const handler: ReceiverHandler = {
    onMessage: (data, isBinary, compressed) => events.push({ type: "message", data: Buffer.from(data), isBinary, compressed }),
    onPing: (data) => events.push({ type: "ping", data: Buffer.from(data) }),
    onPong: (data) => events.push({ type: "pong", data: Buffer.from(data) }),
    onClose: (code, reason) => events.push({ type: "close", code, reason }),
    onProtocolError: (e: ProtocolError) => events.push({ type: "error", code: e.closeCode, message: e.message }),
  };
  const r = new Receiver(handler, { isServer: options.isServer ?? true, maxPayload: options.maxPayload ?? 1 << 24, allowRsv1: options.allowRsv1 });
  // Copy: the receiver unmasks in place.
  const input = Buffer.from(bytes);
  let cuts: number[];
  if (options.splits === "bytewise") cuts = Array.from({ length: input.length }, (_, i) => i + 1);
  else cuts = [...(options.splits ?? []), input.length].filter((c) => c > 0 && c <= input.length).sort((a, b) => a - b);
  let at = 0;
  for (const c of cuts) {
    if (c <= at) continue;
    r.push(Buffer.from(input.subarray(at, c)));
    at = c;
  }
  return events;
}

/** The same bytes fed whole, byte by byte and at random points must give the same events. */
export function feedEverySplit(bytes: Buffer, options: { isServer?: boolean; maxPayload?: number; allowRsv1?: boolean } = {}, random = Math.random): Event[] {
  const whole = feed(bytes, options);
  const bytewise = feed(bytes, { ...options, splits: "bytewise" });
  const cuts = Array.from({ length: 5 }, () => Math.floor(random() * (bytes.length + 1)));
  const randomSplit = feed(bytes, { ...options, splits: cuts });
  const norm = (e: Event[]): string => JSON.stringify(e, (_k, v) => (v && v.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v));
  if (norm(whole) !== norm(bytewise)) throw new Error(`bytewise feed differs:\n${norm(whole)}\n${norm(bytewise)}`);
  if (norm(whole) !== norm(randomSplit)) throw new Error(`split feed (${cuts}) differs:\n${norm(whole)}\n${norm(randomSplit)}`);
  return whole;
}
