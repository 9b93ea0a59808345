/**
 * The opening handshake (RFC 6455 §4): request checks on the server side, response checks on
 * the client side, `Sec-WebSocket-Key`/`Sec-WebSocket-Accept`, and token lists. Every parser
 * here is a single linear pass: no backtracking regular expressions on peer input.
 */
import { createHash } from "node:crypto";
import { HandshakeError } from "./errors.js";

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §4.1: the only protocol version this implementation speaks. */
export const WEBSOCKET_VERSION = "13";

/** Incoming HTTP headers as Node gives them (lower-case names). */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** RFC 6455 §4.2.2 step 5.4: `Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)). */
export function computeAccept(key: string): string {
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

// RFC 7230 §3.2.6 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** Whether `value` is an RFC 7230 token (non-empty, only tchar). */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * Parses a comma-separated token list (RFC 7230 §7 `#token`), tolerating optional
 * whitespace and empty elements. Returns null if an element is not a token.
 */
export function parseTokenList(value: string): string[] | null {
  const out: string[] = [];
  const n = value.length;
  let steps = 0;
  let start = -1; // start of the current token
  let end = -1; // end (exclusive) of the current token
  for (let i = 0; i <= n; i++) {
    steps++;
    const c = i === n ? 0x2c : value.charCodeAt(i);
    if (c === 0x2c) {
      // End of a list element; empty elements are allowed (RFC 7230 §7).
      if (start !== -1) out.push(value.slice(start, end));
      start = -1;
      end = -1;
    } else if (isOws(c)) {
      if (start !== -1 && end === -1) end = i; // OWS after a token closes it
    } else if (c < 128 && TCHAR[c] === 1) {
      if (start === -1) start = i;
      else if (end !== -1) {
        tokenListSteps = steps;
        return null; // whitespace inside an element: "a b"
      }
      if (i === n - 1 || !isTchar(value.charCodeAt(i + 1))) end = end === -1 ? i + 1 : end;
    } else {
      tokenListSteps = steps;
      return null;
    }
  }
  tokenListSteps = steps;
  return out;
}

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

let tokenListSteps = 0;

/**
 * @internal Loop iterations of the last {@link parseTokenList} call: lets tests show linear
 * time by counting work instead of timing it.
 */
export function lastTokenListSteps(): number {
  return tokenListSteps;
}

/** RFC 7230 §3.2.3: OWS is SP or HTAB. */
function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Whether the token list `value` contains `token` (ASCII case-insensitive). */
export function tokenListIncludes(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const list = parseTokenList(Array.isArray(value) ? value.join(",") : value);
  if (list === null) return false;
  const want = token.toLowerCase();
  for (const t of list) if (t.toLowerCase() === want) return true;
  return false;
}

/** A header's value, repeated fields joined with ", " (RFC 7230 §3.2.2). */
function single(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** RFC 6455 §4.1: the key is 16 random bytes, base64-encoded: 24 characters ending "==". */
export function isValidKey(key: string | undefined): key is string {
  if (key === undefined || key.length !== 24 || key[22] !== "=" || key[23] !== "=") return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return false;
  }
  return true;
}

/** A client opening handshake that passed every check of RFC 6455 §4.2.1. */
export interface UpgradeRequest extends WebSocketOffer {
  /** The `Sec-WebSocket-Key` value. */
  key: string;
}

/**
 * Checks a client's opening handshake (RFC 6455 §4.2.1). Throws a {@link HandshakeError}
 * with the HTTP status to answer: 400 for a malformed request, 426 (with
 * `Sec-WebSocket-Version: 13`) for another protocol version (§4.4), 405 for a method other
 * than GET.
 */
export function validateUpgradeRequest(method: string | undefined, httpVersion: string, headers: HeaderMap): UpgradeRequest {
  // §4.2.1 item 1: an HTTP/1.1 or higher GET request.
  if (method !== "GET") throw new HandshakeError(405, "the opening handshake must be a GET request", { Allow: "GET" });
  const [major, minor] = httpVersion.split(".").map(Number);
  if (!(major > 1 || (major === 1 && minor >= 1))) throw new HandshakeError(400, "the opening handshake needs HTTP/1.1 or later");
  // §4.2.1 items 3-4: Upgrade contains "websocket", Connection contains "Upgrade".
  if (!tokenListIncludes(headers["upgrade"], "websocket")) throw new HandshakeError(400, "missing or invalid Upgrade header");
  if (!tokenListIncludes(headers["connection"], "upgrade")) throw new HandshakeError(400, "missing or invalid Connection header");
  const offer = validateWebSocketHeaders(headers);
  // §4.2.1 item 5: a key that decodes to 16 bytes.
  const key = single(headers, "sec-websocket-key");
  if (!isValidKey(key)) throw new HandshakeError(400, "missing or invalid Sec-WebSocket-Key");
  return { key, ...offer };
}

/** What a client offers in the WebSocket headers of an opening handshake (HTTP/1.1 or HTTP/2). */
export interface WebSocketOffer {
  /** Offered subprotocols, in the client's order (RFC 6455 §4.2.1 item 8). */
  protocols: string[];
  /** The raw `Sec-WebSocket-Extensions` value(s), joined, if any. */
  extensions: string | undefined;
  /** The `Origin` header, if any (RFC 6455 §10.2). */
  origin: string | undefined;
}

/**
 * The header checks an opening handshake shares across HTTP versions (RFC 6455 §4.2.1 items
 * 6 and 8, which RFC 8441 §5 keeps): version 13 (else 426 with `Sec-WebSocket-Version: 13`,
 * §4.4) and a token list of subprotocols; returns the offer.
 */
export function validateWebSocketHeaders(headers: HeaderMap): WebSocketOffer {
  // §4.2.1 item 6 and §4.4: only version 13; answer others with 426 and the versions we speak.
  const version = single(headers, "sec-websocket-version");
  if (version === undefined || version.trim() !== WEBSOCKET_VERSION) {
    throw new HandshakeError(426, "unsupported Sec-WebSocket-Version", { "Sec-WebSocket-Version": WEBSOCKET_VERSION });
  }
  // §4.2.1 item 8: subprotocols as a token list.
  let protocols: string[] = [];
  const protocolHeader = single(headers, "sec-websocket-protocol");
  if (protocolHeader !== undefined) {
    const list = parseTokenList(protocolHeader);
    if (list === null) throw new HandshakeError(400, "invalid Sec-WebSocket-Protocol header");
    protocols = list;
  }
  return {
    protocols,
    extensions: single(headers, "sec-websocket-extensions"),
    origin: single(headers, "origin"),
  };
}

/** The `101 Switching Protocols` response head (RFC 6455 §4.2.2 step 5). */
export function acceptResponse(key: string, protocol?: string, extensions?: string, extraHeaders?: Record<string, string>): string {
  let head =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n`;
  if (protocol) head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensions) head += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  if (extraHeaders) for (const name of Object.keys(extraHeaders)) head += `${name}: ${extraHeaders[name]}\r\n`;
  return head + "\r\n";
}

/** A plain HTTP error response that rejects a handshake, then the connection closes. */
export function rejectResponse(status: number, message: string, headers: Readonly<Record<string, string>> = {}): string {
  const body = message;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n`;
  for (const name of Object.keys(headers)) head += `${name}: ${headers[name]}\r\n`;
  return `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** What a client learns from a successful handshake response. */
export interface HandshakeResult {
  /** The subprotocol the server selected, or "". */
  protocol: string;
  /** The raw `Sec-WebSocket-Extensions` response value, or "". */
  extensions: string;
}

/**
 * Checks the server's answer to our opening handshake (RFC 6455 §4.1, client steps 1-6).
 * Throws a {@link HandshakeError} (status = the response status) when the connection must fail.
 */
export function validateUpgradeResponse(
  status: number,
  headers: HeaderMap,
  key: string,
  offeredProtocols: readonly string[],
): HandshakeResult {
  // §4.1 step 1: anything but 101 fails the connection (redirects are not followed).
  if (status !== 101) throw new HandshakeError(status, `unexpected server response: ${status}`);
  // Steps 2-3: Upgrade "websocket" and Connection "Upgrade", case-insensitive.
  if (!tokenListIncludes(headers["upgrade"], "websocket")) throw new HandshakeError(status, "missing or invalid Upgrade header in the response");
  if (!tokenListIncludes(headers["connection"], "upgrade")) throw new HandshakeError(status, "missing or invalid Connection header in the response");
  // Step 4: the accept value must match our key.
  if (single(headers, "sec-websocket-accept") !== computeAccept(key)) throw new HandshakeError(status, "invalid Sec-WebSocket-Accept header");
  return handshakeResult(status, headers, offeredProtocols);
}

/**
 * Checks the server's answer to an extended CONNECT (RFC 8441 §5) on HTTP/2: a 2xx status
 * opens the tunnel (RFC 9110 §9.3.6; servers send 200), and there is no Upgrade, Connection
 * or `Sec-WebSocket-Accept` to check (RFC 8441 §5: the key/accept exchange is not used).
 * The subprotocol and extension headers follow RFC 6455 as over HTTP/1.1. Throws a
 * {@link HandshakeError} (status = the response status) when the connection must fail.
 */
export function validateConnectResponse(status: number, headers: HeaderMap, offeredProtocols: readonly string[]): HandshakeResult {
  if (status < 200 || status > 299) throw new HandshakeError(status, `unexpected server response: ${status}`);
  return handshakeResult(status, headers, offeredProtocols);
}

/** RFC 6455 §4.1 client step 6 (shared by HTTP/1.1 and HTTP/2): a subprotocol we did not offer fails the connection. */
function handshakeResult(status: number, headers: HeaderMap, offeredProtocols: readonly string[]): HandshakeResult {
  const protocol = single(headers, "sec-websocket-protocol");
  if (protocol !== undefined) {
    if (!offeredProtocols.includes(protocol)) throw new HandshakeError(status, `server selected a subprotocol that was not offered: ${protocol}`);
  }
  return { protocol: protocol ?? "", extensions: single(headers, "sec-websocket-extensions") ?? "" };
}
