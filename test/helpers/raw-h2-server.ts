/**
 * A hand-driven HTTP/2 server (node:http2) for client tests: it answers each extended
 * CONNECT (RFC 8441) as the test says, records the request headers and counts sessions, so
 * a test can check what the client sent and how it reacts to answers no real server would
 * give (a refusal, a wrong subprotocol, RST_STREAM, a dropped session).
 *
 * ```ts
 * const h2 = await startRawH2Server(t, { answer: (stream) => stream.respond({ ":status": 200 }) });
 * ```
 */
import { once } from "node:events";
import { createSecureServer, createServer, type Http2Server, type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { selfSignedCert } from "./certs.js";

/** Options of {@link startRawH2Server}. */
export interface RawH2ServerOptions {
  /** Send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3). Default true. */
  enableConnectProtocol?: boolean;
  /** TLS with the test certificate (ALPN h2), else cleartext with prior knowledge. Default false. */
  tls?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS. Default: node's. */
  maxConcurrentStreams?: number;
  /** Answers a stream. Default: 200 with the first offered subprotocol, then echo the bytes back. */
  answer?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
}

/** A running raw HTTP/2 server; see {@link startRawH2Server}. */
export interface RawH2Server {
  /** `ws://127.0.0.1:<port>/` (or `wss://localhost:<port>/` with tls). */
  readonly url: string;
  readonly port: number;
  /** Sessions the server accepted, in order. */
  readonly sessions: Http2Session[];
  /** Request headers of every stream, in order. */
  readonly requests: IncomingHttpHeaders[];
  /** Every stream, in order. */
  readonly streams: ServerHttp2Stream[];
  /** The certificate to trust (`ca`) with tls. */
  readonly ca: string | undefined;
  /** Destroys every session and closes the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * The default answer: 200 with the first offered subprotocol, then every client frame sent
 * back unmasked (RFC 6455 §5.1: a server never masks); after echoing a close frame it ends
 * the stream, as a server closes TCP first.
 */
export function echoAnswer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const offered = String(headers["sec-websocket-protocol"] ?? "").split(",")[0].trim();
  stream.respond({ ":status": 200, ...(offered ? { "sec-websocket-protocol": offered } : {}) });
  let buf = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    // Bounded by the bytes received: each pass consumes one whole frame or stops.
    for (;;) {
      if (buf.length < 2) return;
      const masked = (buf[1] & 0x80) !== 0;
      let length = buf[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      const total = offset + (masked ? 4 : 0) + length;
      if (buf.length < total) return;
      const header = Buffer.from(buf.subarray(0, offset));
      header[1] &= 0x7f;
      const payload = Buffer.from(buf.subarray(total - length, total));
      if (masked) for (let i = 0; i < length; i++) payload[i] ^= buf[offset + (i & 3)];
      stream.write(Buffer.concat([header, payload]));
      buf = buf.subarray(total);
      // RFC 6455 §7.1.1: after its close frame the server closes first (RFC 8441 §5: END_STREAM).
      if ((header[0] & 0x0f) === 0x8) return void stream.end();
    }
  });
  stream.on("end", () => stream.end());
}

/** Starts a raw HTTP/2 server on 127.0.0.1, port 0; closed when `t` ends. */
export async function startRawH2Server(t: TestContext, options: RawH2ServerOptions = {}): Promise<RawH2Server> {
  const settings = { enableConnectProtocol: options.enableConnectProtocol ?? true, ...(options.maxConcurrentStreams === undefined ? {} : { maxConcurrentStreams: options.maxConcurrentStreams }) };
  const cert = options.tls ? selfSignedCert() : undefined;
  const server: Http2Server | Http2SecureServer = cert ? createSecureServer({ cert: cert.cert, key: cert.key, settings }) : createServer({ settings });
  const sessions: Http2Session[] = [];
  const requests: IncomingHttpHeaders[] = [];
  const streams: ServerHttp2Stream[] = [];
  const answer = options.answer ?? echoAnswer;
  server.on("session", (session: Http2Session) => {
    sessions.push(session);
    session.on("error", () => {});
  });
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    requests.push(headers);
    streams.push(stream);
    stream.on("error", () => {});
    answer(stream, headers);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      for (const s of sessions) s.destroy();
      server.close(() => resolve());
    }));
  t.after(close);
  return { url: cert ? `wss://localhost:${port}/` : `ws://127.0.0.1:${port}/`, port, sessions, requests, streams, ca: cert?.cert, close };
}
