/**
 * Offsets of durable topics: `"<epoch>-<seq>"`. The epoch names one history lineage (a
 * memory history instance, or a Redis stream and the token stored beside it); `seq` counts
 * that topic's messages within the epoch from 1, +1 per message. Two offsets compare only
 * within one epoch (docs/TOPICS.md, "Offsets").
 */
import { randomBytes } from "node:crypto";

/** An offset token, `"<epoch>-<seq>"`. */
export type Offset = string;

/** An offset taken apart. */
export interface OffsetParts {
  /** The history lineage, `[A-Za-z0-9]+`. */
  readonly epoch: string;
  /** The message's number within the epoch, ≥ 1. */
  readonly seq: number;
}

const OFFSET_RE = /^([A-Za-z0-9]{1,64})-([1-9][0-9]{0,15})$/;

/** `"<epoch>-<seq>"`. */
export function formatOffset(epoch: string, seq: number): Offset {
  return `${epoch}-${seq}`;
}

/** The parts of `value`, or null when it is not an offset (wrong shape, seq past 2^53). */
export function parseOffset(value: unknown): OffsetParts | null {
  if (typeof value !== "string") return null;
  const m = OFFSET_RE.exec(value);
  if (m === null) return null;
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(seq)) return null;
  return { epoch: m[1], seq };
}

/** A fresh epoch token: 12 random alphanumeric characters (base 36 of 64 random bits, padded). */
export function newEpoch(): string {
  const n = randomBytes(8).readBigUInt64BE();
  return n.toString(36).padStart(13, "0").slice(-12);
}
