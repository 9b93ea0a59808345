/**
 * The bytes a Redis adapter puts on a channel: a small header, then the payload untouched,
 * so binary messages cross nodes byte-exact.
 *
 *   byte 0       format version (1)
 *   byte 1       flags: bit 0 = binary message
 *   bytes 2-17   id of the publishing node (16 bytes), so it can drop its own echo
 *   bytes 18-    the payload
 */

/** Format version of the envelope. */
export const ENVELOPE_VERSION = 1;
const HEADER = 18;

/** Wraps a payload for the wire. */
export function encodeEnvelope(nodeId: Buffer, payload: Buffer, isBinary: boolean): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = isBinary ? 1 : 0;
  nodeId.copy(out, 2, 0, 16);
  payload.copy(out, HEADER);
  return out;
}

/** An unwrapped message. */
export interface Envelope {
  nodeId: Buffer;
  isBinary: boolean;
  payload: Buffer;
}

/** Unwraps a message; null if it is not an envelope of a known version. */
export function decodeEnvelope(data: Buffer): Envelope | null {
  if (data.length < HEADER || data[0] !== ENVELOPE_VERSION) return null;
  return { nodeId: data.subarray(2, HEADER), isBinary: (data[1] & 1) === 1, payload: data.subarray(HEADER) };
}
