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
