/**
 * The client core shared by `WebSocket` and `WebSocketStream`: the URL and subprotocol
 * checks of their constructors, and WHATWG WebSockets §"establish a WebSocket connection"
 * (the opening handshake, the subprotocol and extension checks, and binding the upgraded
 * socket to a {@link Transport} in the client role).
 */
import { randomFillSync } from "node:crypto";
import {
  acceptClientResponse,
  clientOffer,
  validatePerMessageDeflateOptions,
  type PerMessageDeflateOptions,
} from "../protocol/extensions/permessage-deflate.js";
import { HandshakeError } from "../protocol/errors.js";
import { isToken } from "../protocol/handshake.js";
import { PerMessageDeflate } from "../transport/permessage-deflate.js";
import { Transport, type TransportOptions, type TransportOwner } from "../transport/transport.js";
import { http2OpeningHandshake } from "./http2-handshake.js";
import { openingHandshake } from "./opening-handshake.js";
import { CLIENT_DEFAULTS, type WebSocketOptions } from "./options.js";
import { proxyFor } from "./proxy.js";

const maskSource = (target: Uint8Array): void => void randomFillSync(target);

/**
 * WHATWG WebSockets §"get a URL record", and the scheme and fragment checks of both
 * constructors. Node has no document, hence no API base URL: a relative URL is a
 * SyntaxError here where a browser would resolve it against the page.
 */
export function parseWebSocketURL(url: string): URL {
  let record: URL;
  try {
    // Step 1: parse url (with no base URL).
    record = new URL(url);
  } catch {
    // Step 2: failure is a SyntaxError.
    throw new DOMException(`Invalid URL: ${url}`, "SyntaxError");
  }
  // Steps 3-4: http and https become ws and wss.
  if (record.protocol === "http:") record.protocol = "ws:";
  else if (record.protocol === "https:") record.protocol = "wss:";
  // Step 5: any other scheme is a SyntaxError.
  if (record.protocol !== "ws:" && record.protocol !== "wss:") throw new DOMException(`The URL's scheme must be ws, wss, http or https, not "${record.protocol}"`, "SyntaxError");
  // Step 6: a fragment (even an empty one) is a SyntaxError.
  if (record.hash !== "" || url.includes("#")) throw new DOMException("The URL must not contain a fragment", "SyntaxError");
  return record;
}

/**
 * WHATWG WebSockets §"new WebSocket()" step 8 (and WebSocketStream's equivalent): each
 * subprotocol is an RFC 6455 §4.1 token, and none occurs twice. Chromium, Firefox and the
 * web-platform-tests compare case-insensitively, so "chat" and "CHAT" are duplicates.
 */
export function checkSubprotocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const p of protocols) {
    if (!isToken(p)) throw new DOMException(`Invalid subprotocol "${p}"`, "SyntaxError");
    const lower = p.toLowerCase();
    if (seen.has(lower)) throw new DOMException(`Duplicate subprotocol "${p}"`, "SyntaxError");
    seen.add(lower);
  }
}

/** What the API object on top learns when the connection is established. */
export interface Established {
  transport: Transport;
  /** RFC 6455 "subprotocol in use", or "". */
  protocol: string;
  /** RFC 6455 "extensions in use", or "". */
  extensions: string;
  /** The HTTP version the opening handshake ran on: "2" for an RFC 8441 stream. */
  httpVersion: "1.1" | "2";
}

/** How the client core reports back to `WebSocket` or `WebSocketStream`. */
export interface EstablishCallbacks {
  /** Whether the caller still wants the connection (false after close() or abort while connecting). */
  wanted(): boolean;
  /** The connection is established; its transport is reading. Bytes that came with the handshake are fed right after. */
  established(result: Established): void;
  /** The connection could not be established (WHATWG: "fail the WebSocket connection"). */
  failed(error: Error): void;
}

/**
 * WHATWG WebSockets §"establish a WebSocket connection" for `url` offering `protocols`.
 * `owner` receives the transport's events once established. Returns a function that
 * aborts the attempt while it is still in progress (then `failed` is called with its reason).
 */
export function establishWebSocketConnection(
  url: URL,
  protocols: readonly string[],
  options: WebSocketOptions,
  owner: TransportOwner,
  callbacks: EstablishCallbacks,
): (reason: Error) => void {
  const deflateOption = options.perMessageDeflate;
  const deflate: PerMessageDeflateOptions | null = deflateOption === undefined || deflateOption === false ? null : deflateOption === true ? {} : deflateOption;
  if (deflate !== null) validatePerMessageDeflateOptions(deflate);
  const maxPayload = options.maxPayload ?? CLIENT_DEFAULTS.maxPayload;
  let abort: (reason: Error) => void = noop;
  let settled = false;
  // HTTP/2 when asked for and no proxy applies (RFC 8441; it falls back to HTTP/1.1 itself).
  const handshake = options.http2 === true && !proxied(options, url) ? http2OpeningHandshake : openingHandshake;
  handshake(
    url,
    protocols,
    deflate === null ? undefined : clientOffer(deflate),
    options,
    options.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
    (a) => (abort = a),
  ).then(
    (opened) => {
      settled = true;
      let codec: PerMessageDeflate | null = null;
      let extensions = "";
      try {
        // WHATWG: "establish a WebSocket connection", processResponse step 2: subprotocols
        // were offered and the server acknowledged none: fail (RFC 6455 §4.1 only covers
        // a subprotocol that was not offered; this covers one offered but not acknowledged).
        if (protocols.length > 0 && opened.protocol === "") {
          throw new HandshakeError(opened.status, "the server did not select any of the offered subprotocols");
        }
        if (deflate !== null) {
          // RFC 7692 §7.1: the answer must be acceptable for what we offered.
          const params = acceptClientResponse(opened.extensions || undefined, deflate);
          if (params !== null) {
            codec = new PerMessageDeflate(params, false, deflate, maxPayload);
            extensions = opened.extensions;
          }
        } else if (opened.extensions !== "") {
          // RFC 6455 §4.1 step 5: an extension we did not offer fails the connection.
          throw new HandshakeError(opened.status, `server selected an extension that was not offered: ${opened.extensions}`);
        }
      } catch (err) {
        opened.socket.destroy();
        callbacks.failed(err as Error);
        return;
      }
      if (!callbacks.wanted()) {
        codec?.close();
        opened.socket.destroy();
        callbacks.failed(new Error("closed before the connection was established"));
        return;
      }
      const transportOptions: TransportOptions = {
        isServer: false,
        maxPayload,
        maxFragments: options.maxFragments ?? CLIENT_DEFAULTS.maxFragments,
        closeTimeout: options.closeTimeout ?? CLIENT_DEFAULTS.closeTimeout,
        idleTimeout: 0,
        maskSource,
      };
      const transport = new Transport(opened.socket, owner, transportOptions, codec);
      (opened.socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      transport.start();
      callbacks.established({ transport, protocol: opened.protocol, extensions, httpVersion: opened.httpVersion });
      if (opened.head.length > 0 && !transport.closed) transport.onData(opened.head);
    },
    (err: Error) => {
      settled = true;
      callbacks.failed(err);
    },
  );
  return (reason) => {
    if (!settled) abort(reason);
  };
}

/** Whether a proxy applies; an invalid proxy URL counts as one (the HTTP/1.1 path reports it). */
function proxied(options: WebSocketOptions, url: URL): boolean {
  try {
    return proxyFor(options.proxy, url) !== null;
  } catch {
    return true;
  }
}

function noop(): void {}
