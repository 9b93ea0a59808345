/**
 * permessage-deflate (RFC 7692) on a transport: a received compressed message is inflated
 * (on the event loop when small, else on zlib's thread pool with input paused, so later
 * messages stay behind it) and checked; a sent one is deflated, and sends after it wait in
 * the pending sends until it is done, so order holds both ways.
 */
import { CloseCode } from "../protocol/close-code.js";
import { ProtocolError } from "../protocol/errors.js";
import { OutputQueue } from "../protocol/output-queue.js";
import { isValidUtf8 } from "../protocol/utf8.js";
import { drainPendingSends, type PendingSend } from "./pending-sends.js";
import type { Transport } from "./transport.js";
import type { MessageCodec } from "./transport-options.js";

/** Payloads below this are copied into the send queue at once (so may live in a scratch buffer). */
const COPY_LIMIT = OutputQueue.COPY_LIMIT;

/** Inflates a received compressed message and delivers it to `t`'s owner, in order. */
export function receiveCompressed(t: Transport, codec: MessageCodec, data: Buffer, isBinary: boolean): void {
  // RFC 7692: inflate, keeping later messages behind this one (input paused meanwhile).
  const inflated = (err: ProtocolError | null, result?: Buffer): void => {
    if (t.closed) return;
    if (inflatedMessage(t, err, result, isBinary)) return;
    t.resumeInput();
    // Replies queued while the held-back bytes were processed.
    if (t.connection.queuedBytes > 0) t.flush();
  };
  if (codec.decompressNow === undefined) {
    t.pauseInput();
    codec.decompress(data, inflated);
    return;
  }
  // A small message is inflated on the event loop, like an uncompressed one is delivered.
  let now: Buffer | null;
  try {
    now = codec.decompressNow(data, inflated);
  } catch (err) {
    inflateFailed(t, err instanceof Error ? err : new ProtocolError(CloseCode.InternalError, "decompression failed"));
    return;
  }
  if (now === null) t.pauseInput();
  else inflatedMessage(t, null, now, isBinary);
}

/**
 * A message could not be inflated (a bomb, 1009; corrupt data, 1007): fail the connection and
 * process nothing more it sent (no further bomb is inflated), but read on, so the peer's FIN is
 * seen at once instead of the paused socket waiting for the close timer.
 */
function inflateFailed(t: Transport, error: Error): void {
  t.fail(error);
  if (t.closed) return;
  t.connection.stopReceiving();
  t.socket.resume();
}

/** Delivers an inflated message; true when the connection failed or a handler threw. */
function inflatedMessage(t: Transport, err: ProtocolError | null, result: Buffer | undefined, isBinary: boolean): boolean {
  if (err !== null || result === undefined) {
    inflateFailed(t, err ?? new ProtocolError(CloseCode.InternalError, "decompression failed"));
    return true;
  }
  // RFC 6455 §8.1: text must be UTF-8, checked after inflation.
  if (!isBinary && !isValidUtf8(result)) {
    t.fail(new ProtocolError(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message"));
    return true;
  }
  try {
    t.owner.onMessage(result, isBinary);
  } catch (err) {
    t.handlerFailed(err);
    return true;
  }
  return t.closed;
}

/** Sends a data message deflated (RFC 7692 §7.2.1), after everything queued before it. */
export function sendCompressed(t: Transport, codec: MessageCodec, data: Uint8Array | string, isBinary: boolean, size: number): void {
  let input: Buffer | null = null;
  if (codec.compressNow !== undefined) {
    // Small and nothing of this direction queued: compressed now, on the event loop (the
    // caller's bytes are read before send() returns, so they need no copy).
    const view = typeof data === "string" ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let now = codec.compressNow(view);
    if (now !== null) {
      // RFC 7692 §6.1: any message may go uncompressed; without context takeover nothing ties
      // the next one to it, so a message that does not shrink (already compressed data, random
      // bytes) is sent as it is: fewer bytes, no inflation for the peer. Else `now` may be the
      // codec's scratch: send() copies small payloads at once, else copy.
      const compressed = now.length < view.length || codec.sendNoContextTakeover !== true;
      if (!compressed) now = view;
      if (t.pendingSends === null) t.connection.send(!compressed || now.length < COPY_LIMIT ? now : Buffer.from(now), isBinary, compressed);
      else {
        const copy = Buffer.from(now);
        t.pendingBytes += size;
        t.pendingSends.push({ ready: true, size, run: () => t.connection.send(copy, isBinary, compressed) });
      }
      return;
    }
    if (typeof data === "string") input = view; // already a copy
  }
  input ??= typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
  const entry: PendingSend = { ready: false, size, run: noop };
  t.pendingBytes += size;
  (t.pendingSends ??= []).push(entry);
  codec.compress(input, (err, result) => {
    if (t.closed) return;
    if (err !== null || result === undefined) {
      t.fail(new ProtocolError(CloseCode.InternalError, "compression failed"));
      return;
    }
    entry.run = () => t.connection.send(result, isBinary, true);
    entry.ready = true;
    drainPendingSends(t);
  });
}

function noop(): void {}
