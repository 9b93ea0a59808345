/**
 * Relaying a received compressed message without compressing it again: when a handler sends
 * (or publishes) exactly the bytes of the message just inflated — an echo, a chat server
 * forwarding a client's message to a room, a signalling relay — the compressed payload the
 * peer sent is sent on as it is, and the ~16 µs of deflate per 1 KiB message are not spent.
 *
 * When it is valid (RFC 7692 §7.2.1, §7.2.2):
 * - the source message was compressed on its own: our inflater started it from an empty window
 *   (the source direction has no context takeover), so it refers to nothing before it; zlib
 *   refuses any distance reaching before the start of the output;
 * - the recipient's direction has no context takeover either (its compressor state is not
 *   affected by what we send) and a 15-bit window: any DEFLATE distance (≤ 32,768) fits;
 * - the payload ends exactly at a block boundary once the recipient appends 0x00 0x00 0xff 0xff,
 *   and contains no final block: otherwise a crafted payload could leave the recipient's
 *   inflater in the middle of a block and corrupt that other connection's next message. The
 *   inflater checks it right after the message, on the same context ({@link atBlockBoundary}):
 *   an empty final fixed block (0x03 0x00) and one more byte must end the stream right before
 *   that byte without output. A payload inflated without that check is checked when first
 *   relayed, by inflating payload + tail + those bytes again ({@link relayed});
 * - the compressed payload is smaller than the message (a peer cannot make us send more bytes
 *   than the message itself by encoding it wastefully).
 *
 * The message sent must equal the received one byte for byte (compared, not trusted: a handler
 * may change the buffer it was given). One process-wide slot holds the last message inflated on
 * the event loop, valid until the next inflation.
 */
import zlib from "node:zlib";
import { contextSpec, returnShared, takeShared } from "./zlib-context.js";
import { canRunSync, joinChunks, lastOutput, runSync, SCRATCH_SIZE, syncGeneration, SyncStatus } from "./zlib-sync.js";

/** An empty final block with fixed codes (RFC 1951 §3.2.6: BFINAL 1, BTYPE 01, code 256), then one byte that must be left unread. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00, 0x00]);
/** RFC 7692 §7.2.2 tail, then FINAL_BLOCK. */
const PROBE = Buffer.from([0x00, 0x00, 0xff, 0xff, ...FINAL_BLOCK]);
/** Output piece size of the probing inflater (the pool is keyed without it). */
const PROBE_CHUNK = 64 * 1024;

/** The last message inflated on the event loop. */
interface Slot {
  /** Its compressed payload (tail not appended): a view of the inflater's input scratch. */
  compressed: Buffer | null;
  /** Its length once inflated. */
  size: number;
  /** {@link syncGeneration} right after its inflation: the scratch output still holds it while equal. */
  generation: number;
  /** Its bytes, once checked relayable (kept for further recipients); null: not checked yet. */
  message: Buffer | null;
  /** Checked and found not relayable. */
  refused: boolean;
  /** Checked by the inflater (it ends at a block boundary): no probe needed. */
  checked: boolean;
}

const slot: Slot = { compressed: null, size: 0, generation: -1, message: null, refused: false, checked: false };
let probeScratch: Buffer | null = null;

/** Forgets the last message (an inflation is about to reuse the input scratch). */
export function forgetInflated(): void {
  slot.compressed = null;
  slot.message = null;
}

/**
 * Whether a message of `size` bytes inflated from `compressedLength` bytes may be relayed at all:
 * smaller than the message (amplification guard) and held whole by the scratch output.
 */
export function relayCandidate(compressedLength: number, size: number): boolean {
  return compressedLength > 0 && compressedLength < size && size < SCRATCH_SIZE;
}

/**
 * Right after a message inflated to Done (payload + tail all consumed) on `stream`: whether the
 * stream stands at a block boundary, i.e. an empty final block ends it without output, leaving
 * the byte after it. The stream has then ended (reset it before the next message) or holds
 * garbage (reset it too). Writes no output, so the scratch still holds the message.
 *
 * @throws Error zlib's error when those bytes are invalid where the stream stands (the payload
 *   ended inside a block); the stream is then destroyed.
 */
export function atBlockBoundary(stream: zlib.InflateRaw): boolean {
  const result = runSync(stream, FINAL_BLOCK, zlib.constants.Z_SYNC_FLUSH, 0);
  return result.status === SyncStatus.Ended && result.consumed === FINAL_BLOCK.length - 1 && result.size === 0;
}

/**
 * Records a message just inflated by {@link runSync} in one piece from a context that started
 * empty, all input consumed, {@link relayCandidate}: `compressed` is its payload without the
 * tail (it must stay unchanged until the next {@link forgetInflated}), `size` its inflated
 * length; `checked` when {@link atBlockBoundary} said yes (the last zlib call was that check).
 */
export function noteInflated(compressed: Buffer, size: number, checked: boolean): void {
  if (!relayCandidate(compressed.length, size)) return;
  slot.compressed = compressed;
  slot.size = size;
  slot.generation = syncGeneration();
  slot.message = null;
  slot.refused = false;
  slot.checked = checked;
}

/**
 * The compressed payload to send for `data` (tail stripped, RFC 7692 §7.2.1) if `data` is the
 * last message inflated and that payload is relayable (see the file comment), else null. The
 * recipient must compress without context takeover with a 15-bit window. The result is a view
 * valid until the next inflation: copy it before then.
 */
export function relayed(data: Buffer): Buffer | null {
  const compressed = slot.compressed;
  if (compressed === null || slot.refused || data.length !== slot.size) return null;
  if (slot.message !== null) return data.equals(slot.message) ? compressed : null;
  // First recipient: compare with the inflater's output, still in the scratch buffer.
  if (slot.generation !== syncGeneration() || !data.equals(lastOutput(slot.size))) return null;
  // Checked by the inflater: keep a copy for further recipients (the scratch will change).
  const message = slot.checked ? Buffer.from(lastOutput(slot.size)) : probe(compressed, slot.size);
  if (message === null) {
    slot.refused = true;
    return null;
  }
  slot.message = message;
  return compressed;
}

/** Inflates payload + PROBE on a fresh context: the message when the stream ends exactly before the last byte, else null. */
function probe(compressed: Buffer, size: number): Buffer | null {
  const n = compressed.length + PROBE.length;
  // compressed.length < size < SCRATCH_SIZE (noteInflated): the shared buffer fits.
  const input = (probeScratch ??= Buffer.allocUnsafeSlow(SCRATCH_SIZE + PROBE.length)).subarray(0, n);
  compressed.copy(input, 0);
  PROBE.copy(input, compressed.length);
  const ctx = takeShared(contextSpec("inflate", 15, 0, 0, PROBE_CHUNK));
  if (!canRunSync(ctx.stream)) {
    ctx.destroy();
    return null;
  }
  let result;
  try {
    result = runSync(ctx.stream, input, zlib.constants.Z_SYNC_FLUSH, size);
  } catch {
    ctx.destroy();
    return null;
  }
  // RFC 1951: after a final block the stream is over; reset for the next user of the pool.
  ctx.stream.reset();
  returnShared(ctx);
  if (result.status !== SyncStatus.Ended || result.consumed !== n - 1 || result.size !== size) return null;
  return joinChunks(result);
}
