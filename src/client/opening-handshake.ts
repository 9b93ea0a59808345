/**
 * The client's opening handshake (RFC 6455 §4.1): sends the upgrade request over http(s)
 * (directly or through a CONNECT tunnel) and checks the answer. Redirects are not followed.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Duplex, Readable } from "node:stream";
import { HandshakeError } from "../protocol/errors.js";
import { validateUpgradeResponse, type HandshakeResult } from "../protocol/handshake.js";
import type { WebSocketOptions } from "./options.js";
import { proxyFor, tunnel } from "./proxy.js";

/** A completed opening handshake, over HTTP/1.1 (an upgraded socket) or HTTP/2 (an RFC 8441 stream). */
export interface OpenedSocket extends HandshakeResult {
  /** The upgraded socket, or the HTTP/2 stream. */
  socket: Duplex;
  /** Bytes that came after the response head (always empty over HTTP/2). */
  head: Buffer;
  /** The response status: 101 over HTTP/1.1, 2xx over HTTP/2. */
  status: number;
  /** The HTTP version the handshake ran on. */
  httpVersion: "1.1" | "2";
}

/** Bytes of a refused handshake's response body kept for `clientFailure(ws).body`. */
const MAX_REJECTION_BODY = 2048;
/** How long to wait for that body after the response head, in ms. */
const REJECTION_BODY_WAIT_MS = 1000;

/**
 * Runs the opening handshake; `extensionOffer` is the Sec-WebSocket-Extensions value, if any.
 * `connection`, if given, is an already connected socket to send the request on (a TLS socket
 * whose ALPN chose http/1.1 when HTTP/2 was tried first).
 */
export function openingHandshake(
  url: URL,
  protocols: readonly string[],
  extensionOffer: string | undefined,
  options: WebSocketOptions,
  timeoutMs: number,
  onRequest: (abort: (reason: Error) => void) => void,
  connection?: Duplex,
): Promise<OpenedSocket> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "wss:";
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const key = randomBytes(16).toString("base64");
    const headers: Record<string, string> = {
      ...options.headers,
      Host: url.host,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
    };
    if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
    if (extensionOffer !== undefined) headers["Sec-WebSocket-Extensions"] = extensionOffer;
    if (options.origin !== undefined) headers["Origin"] = options.origin;

    let settled = false;
    let req: ClientRequest | null = null;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`opening handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    onRequest(fail);

    const tls = clientTlsOptions(host, options);

    const send = (socket?: Duplex): void => {
      if (settled) {
        socket?.destroy();
        return;
      }
      const common = { host, port, path: url.pathname + url.search, headers, setHost: false };
      // Through a tunnel the request must go over `socket`: node:http only calls the
      // `createConnection` option when no agent is set (`agent: false` makes a fresh Agent,
      // which would open a direct connection to the target and bypass the proxy).
      const via = socket === undefined ? { agent: false as const } : { createConnection: () => socket as Socket };
      try {
        req = secure ? httpsRequest({ ...common, ...tls, ...via }) : httpRequest({ ...common, ...via });
      } catch (err) {
        // e.g. a header value with a line break: fail, never throw from a callback.
        socket?.destroy();
        fail(err as Error);
        return;
      }
      req.once("upgrade", (res: IncomingMessage, upgraded: Socket, head: Buffer) => {
        if (settled) {
          upgraded.destroy();
          return;
        }
        try {
          const result = validateUpgradeResponse(res.statusCode ?? 0, res.headers, key, protocols);
          settled = true;
          clearTimeout(timer);
          resolve({ ...result, socket: upgraded, head, status: 101, httpVersion: "1.1" });
        } catch (err) {
          upgraded.destroy();
          fail(err as Error);
        }
      });
      req.once("response", (res: IncomingMessage) => {
        // RFC 6455 §4.1: anything but 101 fails the connection; redirects are not followed.
        failWithBody(res, res.statusCode ?? 0, res.statusMessage ?? "", fail);
      });
      req.once("error", fail);
      req.end();
    };

    let proxy: URL | null = null;
    try {
      proxy = connection === undefined ? proxyFor(options.proxy, url) : null;
    } catch (err) {
      // An invalid proxy URL: fail (and clear the timer), never leave it running.
      fail(err as Error);
      return;
    }
    if (connection !== undefined) {
      send(connection);
    } else if (proxy === null) {
      send();
    } else {
      tunnel(proxy, host, port, timeoutMs).then((raw) => {
        if (settled) return void raw.destroy();
        if (!secure) return send(raw);
        // `host` names the target for the certificate check (else it would be the proxy's).
        const secured = tlsConnect({ socket: raw, host, ...tls, servername: tls.servername });
        secured.once("secureConnect", () => send(secured));
        secured.once("error", fail);
      }, fail);
    }
  });
}

/** The TLS options the client options give for a connection to `host` (an IPv6 address without brackets). */
export function clientTlsOptions(host: string, options: WebSocketOptions): ClientTlsOptions {
  return {
    ca: options.ca,
    rejectUnauthorized: options.rejectUnauthorized,
    // RFC 6066 §3: SNI carries host names only, never IP addresses.
    servername: options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host),
    cert: options.cert,
    key: options.key,
    pfx: options.pfx,
    passphrase: options.passphrase,
  };
}

/** The TLS subset of {@link WebSocketOptions}, as `tls.connect` takes it. */
export type ClientTlsOptions = Pick<WebSocketOptions, "ca" | "rejectUnauthorized" | "servername" | "cert" | "key" | "pfx" | "passphrase">;

/**
 * A refused handshake: fails with a {@link HandshakeError} for `status` once the start of the
 * response body has arrived (it is often the server's reason, "invalid token"): at most
 * 2 KiB, waiting at most 1 s, kept as the error's `body`. Shared by HTTP/1.1 and HTTP/2.
 */
export function failWithBody(res: Readable, status: number, statusText: string, fail: (err: Error) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const done = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(bodyTimer);
    const body = Buffer.concat(chunks).subarray(0, MAX_REJECTION_BODY).toString("utf8");
    const err = new HandshakeError(status, `unexpected server response: ${status}${statusText ? ` ${statusText}` : ""}`);
    fail(Object.assign(err, { body }));
  };
  // A body that never ends must not hold the failure back.
  const bodyTimer = setTimeout(done, REJECTION_BODY_WAIT_MS);
  res.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_REJECTION_BODY) done();
  });
  res.once("end", done);
  res.once("error", done);
  res.once("close", done);
}
