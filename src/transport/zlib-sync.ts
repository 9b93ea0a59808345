/**
 * Synchronous zlib on a long-lived context: one message through a zlib stream's native handle
 * on the event loop, without a thread-pool round trip and without building a context per call.
 *
 * Why not `zlib.deflateRawSync` / `inflateRawSync`: each call allocates and frees a whole zlib
 * context (≈256 KiB of deflate state at windowBits 15 / memLevel 8), which costs more than
 * compressing a 1 KiB message (measured, Node 20, 858 B of JSON: 16 µs per deflateRawSync call,
 * 6 µs through a kept context reset after each message, 20 µs through the stream's thread-pool
 * path). And `stream._processChunk(chunk, flush)` without a callback closes the stream after one
 * use. So this drives `_handle.writeSync` the way Node's own `processChunkSync` does, keeps the
 * context, and leaves the stream usable by its asynchronous path afterwards (the native handle
 * carries the zlib state; the stream's JS side only holds output buffers, which this does not
 * touch). `_handle` and `_writeState` are internal: {@link canRunSync} checks they are there, and
 * callers fall back to the asynchronous stream when they are not.
 */
import type { DeflateRaw, InflateRaw } from "node:zlib";

/** The native zlib handle's synchronous write (node/src/node_zlib.cc, `Write<false>`). */
interface NativeHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}

/** The internals of a zlib stream this file relies on. */
interface StreamInternals {
  _handle?: NativeHandle | null;
  /** [availOutAfter, availInAfter] of the last write. */
  _writeState?: Uint32Array;
  errored?: Error | null;
  destroyed: boolean;
}

/** How one synchronous run ended. */
export const SyncStatus = {
  /** All input consumed. */
  Done: 0,
  /** The DEFLATE stream ended (a block with BFINAL, RFC 7692 §7.2.3.4) before the input did. */
  Ended: 1,
  /** The output passed `maxOutput`; input is left. */
  OverLimit: 2,
} as const;
/** One of {@link SyncStatus}. */
export type SyncStatus = (typeof SyncStatus)[keyof typeof SyncStatus];

/** The result of {@link runSync}. */
export interface SyncResult {
  status: SyncStatus;
  /**
   * The output, as copies; with `view`, a one-piece output is instead a view of the shared
   * scratch buffer, valid only until the next {@link runSync}.
   */
  chunks: Buffer[];
  /** Output bytes. */
  size: number;
  /** Input bytes consumed. */
  consumed: number;
}

/** One process-wide (per thread) output buffer: what zlib writes is copied out of it at once. */
export const SCRATCH_SIZE = 64 * 1024;
let scratch: Buffer | null = null;
/** Counts {@link runSync} calls: the scratch buffer holds the last one's output while it is unchanged. */
let generation = 0;

/** The number of {@link runSync} calls so far (see {@link lastOutput}). */
export function syncGeneration(): number {
  return generation;
}

/**
 * The first `size` bytes the last {@link runSync} wrote: its whole output when that was one piece
 * of fewer than SCRATCH_SIZE bytes. Valid while {@link syncGeneration} is unchanged.
 */
export function lastOutput(size: number): Buffer {
  return scratch === null ? Buffer.alloc(0) : scratch.subarray(0, size);
}

/** Whether `stream` exposes the native handle this file drives (and is not closed). */
export function canRunSync(stream: DeflateRaw | InflateRaw): boolean {
  const s = stream as unknown as StreamInternals;
  return !s.destroyed && typeof s._handle?.writeSync === "function" && s._writeState instanceof Uint32Array;
}

/**
 * Writes `input` through the zlib context of `stream` with `flush` (Z_SYNC_FLUSH for both
 * directions, RFC 7692 §7.2.1), synchronously. Stops early once more than `maxOutput` bytes came
 * out (the caller decides: a decompression bomb, or the rest goes to the thread pool).
 * The stream must be idle (no asynchronous write in progress) and {@link canRunSync}.
 * Output pieces are copied into buffers of their own (not from Node's shared pool, which a
 * retained piece would pin 8 KiB of); with `view`, an output that fits the scratch buffer in one
 * piece is not copied (for a caller that copies it at once, e.g. into the send queue).
 *
 * @throws Error zlib's error (corrupt input); the stream is then destroyed and must be dropped.
 */
export function runSync(stream: DeflateRaw | InflateRaw, input: Buffer, flush: number, maxOutput: number, view = false): SyncResult {
  const s = stream as unknown as StreamInternals;
  const handle = s._handle!;
  const state = s._writeState!;
  const out = (scratch ??= Buffer.allocUnsafe(SCRATCH_SIZE));
  generation++;
  const chunks: Buffer[] = [];
  let size = 0;
  let inOff = 0;
  let availIn = input.length;
  // Each turn either fills the output buffer (and produces SCRATCH_SIZE bytes, bounded by
  // maxOutput) or ends the loop: the loop is bounded.
  for (;;) {
    handle.writeSync(flush, input, inOff, availIn, out, 0, SCRATCH_SIZE);
    // A zlib error calls the stream's onerror synchronously, which destroys it.
    if (s.destroyed) throw s.errored ?? new Error("zlib failed");
    const availOut = state[0];
    const inLeft = state[1];
    const have = SCRATCH_SIZE - availOut;
    inOff += availIn - inLeft;
    availIn = inLeft;
    if (view && availOut !== 0 && size === 0) {
      // Done in one piece: hand out the scratch itself.
      return { status: availIn > 0 ? SyncStatus.Ended : SyncStatus.Done, chunks: have > 0 ? [out.subarray(0, have)] : chunks, size: have, consumed: inOff };
    }
    if (have > 0) {
      const chunk = Buffer.allocUnsafeSlow(have);
      out.copy(chunk, 0, 0, have);
      chunks.push(chunk);
      size += have;
    }
    if (availOut !== 0) {
      // Room was left: zlib has nothing more to give for this input.
      return { status: availIn > 0 ? SyncStatus.Ended : SyncStatus.Done, chunks, size, consumed: inOff };
    }
    if (size > maxOutput) return { status: SyncStatus.OverLimit, chunks, size, consumed: inOff };
  }
}

/** The chunks of a {@link SyncResult} as one buffer. */
export function joinChunks(result: SyncResult): Buffer {
  const { chunks } = result;
  if (chunks.length === 1) return chunks[0];
  return chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(chunks, result.size);
}
