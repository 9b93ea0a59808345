/**
 * An RFC 8441 extended CONNECT stream as a pending handshake: the request view the `upgrade`
 * hook sees, the checks (protocol/handshake-h2.ts), the 200 that accepts it, the status or
 * RST_STREAM that refuses it. Once accepted, the stream itself is the WebSocket's Duplex.
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import type { HandshakeError } from "../protocol/errors.js";
import { extendedConnectRejection, extendedConnectResponse, validateExtendedConnect } from "../protocol/handshake-h2.js";
import type { PeerAddress, PendingHandshake, ValidatedOffer } from "./pending-handshake.js";
import { cancelOnDestroy, countStreamBytes } from "../transport/http2-stream.js";

/**
 * An extended CONNECT request (RFC 8441 §4) as the `upgrade` hook and the `connection` event
 * see it: the fields of `IncomingMessage` a hook reads, with the HTTP/2 ones beside them.
 */
export interface Http2UpgradeRequest {
  /** "2.0". */
  readonly httpVersion: "2.0";
  /** "CONNECT". */
  readonly method: string;
  /** `:path`, with its query. */
  readonly url: string;
  /** `:authority`. */
  readonly authority: string;
  /** `:scheme` ("https", or "http" over cleartext HTTP/2). */
  readonly scheme: string;
  /** The request headers, lower-case, pseudo-headers (`:method`, `:protocol` …) included. */
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received, alternating. */
  readonly rawHeaders: string[];
  /** The HTTP/2 connection's socket (TCP or TLS), e.g. for `remoteAddress`. */
  readonly socket: PeerAddress & { encrypted?: boolean };
  /** The HTTP/2 stream the WebSocket runs on. */
  readonly stream: ServerHttp2Stream;
}

function swallow(): void {}


/** One extended CONNECT stream waiting for the server's decision. */
export class Http2Handshake implements PendingHandshake {
  readonly req: Http2UpgradeRequest;
  readonly head: Buffer = Buffer.alloc(0);
  private readonly stream: ServerHttp2Stream;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: string[]) {
    this.stream = stream;
    stream.on("error", swallow);
    const str = (v: unknown): string => (typeof v === "string" ? v : "");
    const socket = (stream.session?.socket ?? {}) as Http2UpgradeRequest["socket"];
    this.req = {
      httpVersion: "2.0",
      method: str(headers[":method"]),
      url: str(headers[":path"]),
      authority: str(headers[":authority"]),
      scheme: str(headers[":scheme"]),
      headers,
      rawHeaders: rawHeaders ?? flatten(headers),
      socket,
      stream,
    };
  }

  get headerCount(): number {
    let n = 0;
    const raw = this.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i].charCodeAt(0) !== 0x3a) n++;
    return n;
  }

  get answerable(): boolean {
    const s = this.stream;
    return !s.destroyed && !s.closed && !s.headersSent;
  }

  get peer(): PeerAddress {
    return this.req.socket;
  }

  validate(): ValidatedOffer {
    const r = validateExtendedConnect(this.req.headers);
    return { protocols: r.protocols, extensions: r.extensions, origin: r.origin, authority: r.authority, path: r.path };
  }

  reject(error: HandshakeError, lingerMs: number): void {
    rejectStream(this.stream, error.status, error.message, error.headers, lingerMs);
  }

  accept(protocol: string, extensions: string): Duplex {
    const stream = this.stream;
    stream.removeListener("error", swallow);
    stream.setTimeout(0);
    cancelOnDestroy(stream);
    countStreamBytes(stream);
    // RFC 8441 §5: 200, no Sec-WebSocket-Accept; the stream then carries the frames.
    stream.respond(extendedConnectResponse(protocol || undefined, extensions || undefined));
    return stream;
  }
}

/**
 * Refuses a stream with an HTTP status and a text body; what the peer still sends is read
 * and dropped, and the stream is reset (RST_STREAM NO_ERROR, RFC 9113 §8.1) if the peer has
 * not ended its side within `lingerMs`.
 */
export function rejectStream(stream: ServerHttp2Stream, status: number, message: string, extra: Readonly<Record<string, string>>, lingerMs: number): void {
  if (stream.destroyed || stream.closed) return;
  stream.on("error", swallow);
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_CANCEL);
    return;
  }
  const body = Buffer.from(message);
  try {
    stream.respond(extendedConnectRejection(status, body.length, extra));
    stream.end(body);
  } catch {
    // A header value node:http2 refuses: refuse the stream without a response.
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.resume();
  const timer = setTimeout(() => {
    if (!stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  }, lingerMs);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else if (v !== undefined) out.push(name, String(v));
  }
  return out;
}
