/**
 * Offsets of durable topics (`wsx.topics.v1`, docs/TOPICS.md): `"<epoch>-<seq>"`, where the
 * epoch is opaque (`[A-Za-z0-9]+`) and `seq` counts the topic's messages from 1 within that
 * epoch. Browser-safe: this file is served to pages as it is compiled.
 */

/** An offset split into its parts. */
export interface ParsedOffset {
  readonly epoch: string;
  readonly seq: number;
}

/** Longest offset accepted, in characters: an epoch and a safe integer, with room to spare. */
export const MAX_OFFSET_LENGTH = 128;

const OFFSET_RE = /^([A-Za-z0-9]+)-([1-9][0-9]{0,15})$/;

/** The parts of `offset`, or null if it is not a well-formed offset. */
export function parseOffset(offset: unknown): ParsedOffset | null {
  if (typeof offset !== "string" || offset.length > MAX_OFFSET_LENGTH) return null;
  const m = OFFSET_RE.exec(offset);
  if (m === null) return null;
  const seq = Number(m[2]);
  return Number.isSafeInteger(seq) ? { epoch: m[1], seq } : null;
}

/**
 * Whether a message at `offset` is new to a reader who last saw `last` (null: nothing yet).
 * Same epoch: new only if its sequence number is higher (a replay overlapping what was seen
 * is dropped). Another epoch: new (the server's history was reset; it says so with
 * `unrecoverable`, reason "epoch"). An offset that does not parse is not tracked: new.
 */
export function isNewOffset(offset: string, last: string | null): boolean {
  if (last === null) return true;
  const a = parseOffset(offset);
  const b = parseOffset(last);
  if (a === null || b === null || a.epoch !== b.epoch) return true;
  return a.seq > b.seq;
}
