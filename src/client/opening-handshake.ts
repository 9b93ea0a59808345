/**
 * The client's opening handshake (RFC 6455 §4.1): sends the upgrade request over http(s)
 * (directly or through a CONNECT tunnel) and checks the answer. Redirects are not followed.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Duplex } from "node:stream";
import { HandshakeError } from "../protocol/errors.js";
import { validateUpgradeResponse, type HandshakeResult } from "../protocol/handshake.js";
import type { WebSocketOptions } from "./options.js";
import { proxyFor, tunnel } from "./proxy.js";

/** A completed opening handshake. */
export interface OpenedSocket extends HandshakeResult {
  socket: Duplex;
  head: Buffer;
  response: IncomingMessage;
}

/** Bytes of a refused handshake's response body kept for `clientFailure(ws).body`. */
const MAX_REJECTION_BODY = 2048;
/** How long to wait for that body after the response head, in ms. */
const REJECTION_BODY_WAIT_MS = 1000;

/** Runs the opening handshake; `extensionOffer` is the Sec-WebSocket-Extensions value, if any. */
export function openingHandshake(
  url: URL,
  protocols: readonly string[],
  extensionOffer: string | undefined,
  options: WebSocketOptions,
  timeoutMs: number,
  onRequest: (abort: (reason: Error) => void) => void,
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

    const tls = {
      ca: options.ca,
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host),
      cert: options.cert,
      key: options.key,
      pfx: options.pfx,
      passphrase: options.passphrase,
    };

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
          resolve({ ...result, socket: upgraded, head, response: res });
        } catch (err) {
          upgraded.destroy();
          fail(err as Error);
        }
      });
      req.once("response", (res: IncomingMessage) => {
        // RFC 6455 §4.1: anything but 101 fails the connection; redirects are not followed.
        // The start of the body is kept: it is often the server's reason ("invalid token").
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          clearTimeout(bodyTimer);
          const body = Buffer.concat(chunks).subarray(0, MAX_REJECTION_BODY).toString("utf8");
          const err = new HandshakeError(status, `unexpected server response: ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`);
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
      });
      req.once("error", fail);
      req.end();
    };

    const proxy = proxyFor(options.proxy, url);
    if (proxy === null) {
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
