/**
 * The bytes a Redis adapter puts on a channel: a small header, then the payload untouched,
 * so binary messages cross nodes byte-exact.
 *
 *   byte 0       format version (2)
 *   byte 1       flags: bit 0 = binary message
 *   bytes 2-17   id of the publishing node (16 bytes), so it can drop its own echo
 *   bytes 18-21  sequence number of this message among the node's messages to this channel
 *                (uint32 big-endian, wrapping), so a receiver can count the ones it missed
 *   bytes 22-    the payload
 *
 * Version 1 (no sequence number, payload from byte 18) is still decoded, with `sequence` -1.
 */

/** Format version of the envelope written. */
export const ENVELOPE_VERSION = 2;
const HEADER_V1 = 18;
const HEADER = 22;

/** Wraps a payload for the wire; `sequence` is taken modulo 2^32. */
export function encodeEnvelope(nodeId: Buffer, payload: Buffer, isBinary: boolean, sequence = 0): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = isBinary ? 1 : 0;
  nodeId.copy(out, 2, 0, 16);
  out.writeUInt32BE(sequence >>> 0, HEADER_V1);
  payload.copy(out, HEADER);
  return out;
}

/** An unwrapped message. */
export interface Envelope {
  nodeId: Buffer;
  isBinary: boolean;
  /** The publisher's per-channel sequence number (0 to 2^32-1), or -1 from a version 1 envelope. */
  sequence: number;
  payload: Buffer;
}

/** Unwraps a message; null if it is not an envelope of a known version. */
export function decodeEnvelope(data: Buffer): Envelope | null {
  if (data.length >= HEADER && data[0] === ENVELOPE_VERSION) {
    return { nodeId: data.subarray(2, HEADER_V1), isBinary: (data[1] & 1) === 1, sequence: data.readUInt32BE(HEADER_V1), payload: data.subarray(HEADER) };
  }
  if (data.length >= HEADER_V1 && data[0] === 1) {
    return { nodeId: data.subarray(2, HEADER_V1), isBinary: (data[1] & 1) === 1, sequence: -1, payload: data.subarray(HEADER_V1) };
  }
  return null;
}
