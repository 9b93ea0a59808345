/**
 * The raw-frame peer over HTTP/2 (RFC 8441): opens an extended CONNECT stream with
 * node:http2 and gives the same {@link RawClient} as the TCP peer (raw-client.ts), with the
 * stream as its socket, so conformance cases run unchanged over either. The stream's end
 * stands for TCP's close (RFC 8441 §6): when the server ends its side, the helper ends ours,
 * as a TCP socket without half-open would.
 *
 * ```ts
 * const session = await openH2Session(port, { t });             // one connection, many streams
 * const c = await connectRawH2(port, { session, path: "/chat" }); // 200 checked
 * c.sendText("hi"); assert.equal((await c.nextFrame()).payload.toString(), "hi");
 * ```
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { TestContext } from "node:test";
import { DEFAULT_TIMEOUT_MS, wrapRawStream, type RawClient, type RawResponse } from "./raw-client.js";

/** Options of {@link openH2Session}. */
export interface OpenH2SessionOptions {
  /** TLS (`https://`), trusting this CA certificate (PEM); default cleartext h2c. */
  ca?: string;
  /** Host, default "127.0.0.1". */
  host?: string;
  /** Deadline for the connection and the server's SETTINGS, ms. */
  timeoutMs?: number;
  /** Close the session when this test ends. */
  t?: TestContext;
}

/** An open HTTP/2 session whose server allowed extended CONNECT. */
export interface H2Session {
  readonly session: ClientHttp2Session;
  /** The server's SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). */
  readonly enableConnectProtocol: boolean;
  /** Destroys the session. */
  close(): void;
}

/** Connects and waits for the server's SETTINGS (which must arrive before any CONNECT, RFC 8441 §3). */
export function openH2Session(port: number, options: OpenH2SessionOptions = {}): Promise<H2Session> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const authority = `${options.ca !== undefined ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const session = connect(authority, options.ca !== undefined ? { ca: options.ca, servername: "localhost" } : {});
    options.t?.after(() => session.destroy());
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`raw h2 client: no SETTINGS from ${authority} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.once("remoteSettings", (settings) => {
      clearTimeout(timer);
      session.removeListener("error", onError);
      session.on("error", () => {});
      resolve({ session, enableConnectProtocol: settings.enableConnectProtocol === true, close: () => session.destroy() });
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(new Error(`raw h2 client: connecting to ${authority} failed: ${error.message}`));
    };
    session.once("error", onError);
  });
}

/** Options of {@link connectRawH2}. */
export interface ConnectRawH2Options extends OpenH2SessionOptions {
  /** `:path`, default "/". */
  path?: string;
  /** Extra or replacement request headers (lower-case names; pseudo-headers allowed). */
  headers?: OutgoingHttpHeaders;
  /** Open the stream on this session (else a new one, closed with the stream's test or by `destroy`). */
  session?: H2Session;
}

/** What a raw HTTP/2 peer has beside the raw client: the session and the response. */
export interface RawH2Client extends RawClient<ClientHttp2Stream> {
  readonly session: H2Session;
  /** The response headers (`:status` included). */
  readonly responseHeaders: IncomingHttpHeaders;
  /** The RST_STREAM code the stream was closed with (0 when it ended normally), once closed. */
  rstCode(): number | undefined;
}

/** Sends an extended CONNECT request (RFC 8441 §4) and returns the stream and its response headers. */
export function requestH2(session: H2Session, port: number, options: ConnectRawH2Options = {}): Promise<{ stream: ClientHttp2Stream; headers: IncomingHttpHeaders }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const host = options.host ?? "127.0.0.1";
  const request: OutgoingHttpHeaders = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": options.ca !== undefined ? "https" : "http",
    ":path": options.path ?? "/",
    ":authority": `${host}:${port}`,
    "sec-websocket-version": "13",
    ...options.headers,
  };
  for (const name of Object.keys(request)) if (request[name] === undefined) delete request[name];
  return new Promise((resolve, reject) => {
    const stream = session.session.request(request, { endStream: false });
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      reject(new Error(`raw h2 client: no response headers within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.once("response", (headers) => {
      clearTimeout(timer);
      stream.removeListener("close", onClose);
      stream.pause();
      resolve({ stream, headers });
    });
    const onClose = (): void => {
      clearTimeout(timer);
      reject(new Error(`raw h2 client: the stream closed before a response (RST_STREAM ${stream.rstCode})`));
    };
    stream.once("close", onClose);
    stream.on("error", () => {});
  });
}

/**
 * Opens a WebSocket over HTTP/2 and checks the answer: `:status` 200 and no
 * `sec-websocket-accept` (RFC 8441 §5); rejects with the status otherwise.
 */
export async function connectRawH2(port: number, options: ConnectRawH2Options = {}): Promise<RawH2Client> {
  const session = options.session ?? (await openH2Session(port, options));
  if (!session.enableConnectProtocol) throw new Error("raw h2 client: the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)");
  const { stream, headers } = await requestH2(session, port, options);
  options.t?.after(() => stream.destroy());
  const status = Number(headers[":status"]);
  if (status !== 200) {
    stream.destroy();
    throw new Error(`raw h2 client handshake failed (status ${status}, expected 200): ${JSON.stringify(headers)}`);
  }
  if (headers["sec-websocket-accept"] !== undefined) throw new Error("raw h2 client: sec-websocket-accept in an RFC 8441 response (§5)");
  // RFC 8441 §6: the server's END_STREAM is its TCP FIN; answer it as TCP would (no half-open).
  stream.on("end", () => stream.end());
  const rawHeaders: Array<[string, string]> = Object.entries(headers).map(([k, v]) => [k, String(v)]);
  const response: RawResponse & { rest: Buffer } = {
    head: rawHeaders.map(([k, v]) => `${k}: ${v}`).join("\r\n"),
    statusLine: `:status ${status}`,
    status,
    headers: Object.fromEntries(rawHeaders),
    rawHeaders,
    rest: Buffer.alloc(0),
  };
  const client = wrapRawStream(stream, response, "");
  return Object.assign(client, {
    session,
    responseHeaders: headers,
    rstCode: () => (stream.closed ? stream.rstCode : undefined),
    destroy: () => {
      stream.destroy();
      if (options.session === undefined) session.close();
    },
  });
}

/** What came back from {@link exchangeH2}. */
export interface H2Exchange {
  /** `:status`. */
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body, as text. */
  body: string;
  /** The stream's RST_STREAM code once closed (0: ended normally). */
  rstCode: number;
}

/**
 * Sends one extended CONNECT (or any `headers`) and reads the whole response until the
 * stream closes: for rejected handshakes, which must end with a status (RFC 8441 §5).
 */
export async function exchangeH2(session: H2Session, port: number, options: ConnectRawH2Options = {}): Promise<H2Exchange> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { stream, headers } = await requestH2(session, port, options);
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("end", () => stream.end());
  stream.resume();
  await new Promise<void>((resolve, reject) => {
    if (stream.closed) return resolve();
    const timer = setTimeout(() => reject(new Error(`raw h2 client: the refused stream did not close within ${timeoutMs} ms`)), timeoutMs);
    stream.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { status: Number(headers[":status"]), headers, body: Buffer.concat(chunks).toString(), rstCode: stream.rstCode ?? 0 };
}
