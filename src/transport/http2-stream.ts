/**
 * An HTTP/2 stream as the transport's socket (RFC 8441), on either side: what differs from a
 * TCP socket is how an abortive close goes on the wire.
 */
import { constants, type Http2Stream } from "node:http2";

/**
 * RFC 8441 §6: an abortive close of the WebSocket (TCP's RST) is RST_STREAM with CANCEL. The
 * transport ends a connection it gives up on (close timeout, terminate) with `destroy()`;
 * installed as a stream's `destroy`, this sends CANCEL where Node would send NO_ERROR. With an
 * error, Node's own destroy runs.
 */
function destroyWithCancel(this: Http2Stream, error?: Error | null): Http2Stream {
  if ((error === undefined || error === null) && !this.closed && !this.destroyed) {
    this.close(constants.NGHTTP2_CANCEL);
    return this;
  }
  return Object.getPrototypeOf(this).destroy.call(this, error) as Http2Stream;
}

/** Makes `stream.destroy()` without an error reset the stream with CANCEL (RFC 8441 §6). */
export function cancelOnDestroy<S extends Http2Stream>(stream: S): S {
  (stream as Http2Stream).destroy = destroyWithCancel;
  return stream;
}

/** A stream's byte counts, kept by {@link countStreamBytes}. */
interface Counted {
  bytesRead: number;
  bytesWritten: number;
}

/**
 * Gives an HTTP/2 stream the `bytesRead` / `bytesWritten` of a TCP socket, counting its DATA
 * payload (the WebSocket's frames; HTTP/2 framing and headers are the session's), so the
 * server's wire statistics cover WebSockets over HTTP/2 too. Counted where the bytes enter
 * the stream (`push`, on the read side, whoever listens) and leave it (`write`).
 */
export function countStreamBytes<S extends Http2Stream>(stream: S): S {
  const s = stream as unknown as Counted & { push(chunk: unknown, encoding?: BufferEncoding): boolean; write(chunk: unknown, ...rest: unknown[]): boolean };
  s.bytesRead = 0;
  s.bytesWritten = 0;
  const push = s.push;
  const write = s.write;
  s.push = function (this: typeof s, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) this.bytesRead += byteLength(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  s.write = function (this: typeof s, chunk: unknown, ...rest: unknown[]): boolean {
    this.bytesWritten += byteLength(chunk, typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : undefined);
    return write.call(this, chunk, ...rest);
  };
  return stream;
}

function byteLength(chunk: unknown, encoding?: BufferEncoding): number {
  if (typeof chunk === "string") return Buffer.byteLength(chunk, encoding);
  return (chunk as { byteLength?: number }).byteLength ?? 0;
}
