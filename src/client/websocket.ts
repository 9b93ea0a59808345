/**
 * The WHATWG WebSocket interface for Node (https://websockets.spec.whatwg.org/), on top of
 * the wsx transport. Comments cite the standard's algorithm steps.
 */
import { randomFillSync } from "node:crypto";
import {
  acceptClientResponse,
  clientOffer,
  validatePerMessageDeflateOptions,
  type PerMessageDeflateOptions,
} from "../protocol/extensions/permessage-deflate.js";
import { isToken } from "../protocol/handshake.js";
import { ProtocolError } from "../protocol/errors.js";
import { PerMessageDeflate } from "../transport/permessage-deflate.js";
import { Transport, type TransportOptions, type TransportOwner } from "../transport/transport.js";
import { CloseEvent, WebSocketMessageEvent } from "./events.js";
import { openingHandshake } from "./opening-handshake.js";
import { CLIENT_DEFAULTS, type WebSocketOptions } from "./options.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** What `binaryType` may be. */
export type BinaryType = "blob" | "arraybuffer";

type Handler = ((this: WebSocket, ev: any) => unknown) | null;

const maskSource = (target: Uint8Array): void => void randomFillSync(target);

/** Node-only access to a client's internals, kept off the standard interface. */
const internals = new WeakMap<WebSocket, { transport(): Transport | null; failure(): Error | null }>();

/**
 * Sends a ping (RFC 6455 §5.5.2) on an open client connection. Not part of the browser API
 * (browsers do not expose pings); for tools such as `wsx connect`. Returns false if not open.
 */
export function pingClient(ws: WebSocket, data: string | Uint8Array = ""): boolean {
  const t = internals.get(ws)?.transport() ?? null;
  return t !== null && ws.readyState === OPEN ? t.ping(data) : false;
}

/**
 * Why a client connection failed (handshake refused, DNS, TLS, protocol error), if it did. A
 * refused handshake is a `HandshakeError` whose `status` is the server's HTTP status and whose
 * `body` holds the start of the response body (at most 2 KiB, decoded as UTF-8).
 */
export function clientFailure(ws: WebSocket): Error | null {
  return internals.get(ws)?.failure() ?? null;
}

/**
 * A WebSocket client with the browser's API: `new WebSocket(url, protocols)`, `send`,
 * `close`, `readyState`, `bufferedAmount`, `binaryType`, and the open/message/error/close
 * events. A third, Node-only argument takes {@link WebSocketOptions}.
 *
 * Events follow the WHATWG WebSockets Standard: `error` fires only when the connection is
 * failed (a refused or wrong handshake, a protocol violation by the server, close() while
 * connecting), always followed by `close` with code 1006; a connection that merely drops
 * closes with 1006 and no `error`, as in browsers.
 *
 * @example
 * const ws = new WebSocket("wss://example.com/chat", ["chat.v1"]);
 * ws.binaryType = "arraybuffer";
 * ws.onmessage = (e) => console.log(e.data);
 * ws.onopen = () => ws.send("hello");
 */
export class WebSocket extends EventTarget {
  // WHATWG: the readyState constants; WebIDL puts them, read-only, on the interface object
  // and on the prototype (defined below the class), not on each instance.
  /** readyState 0: the connection is not yet open. */
  declare static readonly CONNECTING: 0;
  /** readyState 1: the connection is open and ready to communicate. */
  declare static readonly OPEN: 1;
  /** readyState 2: the connection is going through the closing handshake. */
  declare static readonly CLOSING: 2;
  /** readyState 3: the connection is closed or could not be opened. */
  declare static readonly CLOSED: 3;
  /** readyState 0: the connection is not yet open. */
  declare readonly CONNECTING: 0;
  /** readyState 1: the connection is open and ready to communicate. */
  declare readonly OPEN: 1;
  /** readyState 2: the connection is going through the closing handshake. */
  declare readonly CLOSING: 2;
  /** readyState 3: the connection is closed or could not be opened. */
  declare readonly CLOSED: 3;

  #url: URL;
  #origin: string;
  #readyState: number = CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  #transport: Transport | null = null;
  /** Bytes passed to send() after the connection left OPEN (WHATWG: send() step 3). */
  #bufferedAfterClose = 0;
  /** Application bytes handed to the transport since its buffer was last seen empty. */
  #queuedBytes = 0;
  /** Blob reads in flight, and sends queued behind them so order is kept. */
  #blobQueue: Array<Uint8Array | string | Blob> | null = null;
  #blobBytes = 0;
  /** A close() waiting for the Blob queue to drain. */
  #pendingClose: { code: number; reason: string } | null = null;
  #abort: ((reason: Error) => void) | null = null;
  /** Set when the connection had to be failed (fires `error` before `close`). */
  #failed = false;
  #failure: Error | null = null;
  #onPong: ((data: Buffer) => void) | undefined;
  #handlers: { open: Handler; message: Handler; error: Handler; close: Handler } = { open: null, message: null, error: null, close: null };

  /**
   * Opens a connection to `url` (ws:, wss:, http: or https:), offering `protocols` (a
   * subprotocol or a list of them). `options` is Node-only (see {@link WebSocketOptions}).
   * Throws a SyntaxError DOMException for a bad URL or protocol list (WHATWG: new WebSocket()).
   */
  constructor(url: string | URL, protocols: string | Iterable<string> = [], options: WebSocketOptions | null = {}) {
    super();
    // WHATWG: new WebSocket() steps 1-4: parse the URL; http/https map to ws/wss.
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw new DOMException(`Invalid URL: ${String(url)}`, "SyntaxError");
    }
    if (parsed.protocol === "http:") parsed.protocol = "ws:";
    else if (parsed.protocol === "https:") parsed.protocol = "wss:";
    // Step 5: any other scheme is a SyntaxError.
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new DOMException(`The URL's scheme must be ws, wss, http or https, not "${parsed.protocol}"`, "SyntaxError");
    // Step 6: a fragment is a SyntaxError.
    if (parsed.hash !== "" || String(url).includes("#")) throw new DOMException("The URL must not contain a fragment", "SyntaxError");
    // Steps 7-8: protocols is a string or a sequence; no duplicates, each a token.
    // WebIDL (DOMString or sequence<DOMString>): an iterable object is a sequence, anything
    // else is converted to a string.
    const list = typeof protocols === "object" && protocols !== null && Symbol.iterator in protocols ? Array.from(protocols, String) : [String(protocols)];
    const seen = new Set<string>();
    for (const p of list) {
      if (!isToken(p)) throw new DOMException(`Invalid subprotocol "${p}"`, "SyntaxError");
      const lower = p.toLowerCase();
      if (seen.has(lower)) throw new DOMException(`Duplicate subprotocol "${p}"`, "SyntaxError");
      seen.add(lower);
    }
    this.#url = parsed;
    this.#origin = parsed.origin;
    internals.set(this, { transport: () => this.#transport, failure: () => this.#failure });
    this.#connect(list, options ?? {});
  }

  /** The URL, after the http→ws mapping. */
  get url(): string {
    return this.#url.href;
  }

  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return this.#readyState;
  }

  /** Bytes queued by send() and not yet handed to the network. */
  get bufferedAmount(): number {
    // WHATWG counts application data only: report the bytes handed to send() and not yet
    // written, bounded by what the transport still holds (which includes frame headers).
    const t = this.#transport;
    let live = 0;
    if (t !== null && !t.closed) {
      const held = t.bufferedAmount;
      if (held === 0) this.#queuedBytes = 0;
      live = held < this.#queuedBytes ? held : this.#queuedBytes;
    }
    return live + this.#blobBytes + this.#bufferedAfterClose;
  }

  /** The extensions the server selected. */
  get extensions(): string {
    return this.#extensions;
  }

  /** The subprotocol the server selected. */
  get protocol(): string {
    return this.#protocol;
  }

  /** How binary messages are exposed: "blob" (default) or "arraybuffer". Other values are ignored. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  get onopen(): Handler {
    return this.#handlers.open;
  }
  set onopen(f: Handler) {
    this.#setHandler("open", f);
  }
  get onmessage(): Handler {
    return this.#handlers.message;
  }
  set onmessage(f: Handler) {
    this.#setHandler("message", f);
  }
  get onerror(): Handler {
    return this.#handlers.error;
  }
  set onerror(f: Handler) {
    this.#setHandler("error", f);
  }
  get onclose(): Handler {
    return this.#handlers.close;
  }
  set onclose(f: Handler) {
    this.#setHandler("close", f);
  }

  #setHandler(type: "open" | "message" | "error" | "close", f: Handler): void {
    const old = this.#handlers[type];
    if (old !== null) this.removeEventListener(type, old as (e: Event) => void);
    const fn = typeof f === "function" ? f : null;
    this.#handlers[type] = fn;
    if (fn !== null) this.addEventListener(type, fn as (e: Event) => void);
  }

  /**
   * Sends a message: a string (text), or an ArrayBuffer, ArrayBufferView or Blob (binary).
   * Throws InvalidStateError while CONNECTING (WHATWG: send() step 1).
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === CONNECTING) throw new DOMException("WebSocket is still connecting", "InvalidStateError");
    let payload: Uint8Array | string | Blob;
    let size: number;
    if (typeof data === "string") {
      payload = data;
      size = Buffer.byteLength(data);
    } else if (data instanceof Blob) {
      payload = data;
      size = data.size;
    } else if (ArrayBuffer.isView(data)) {
      payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      size = data.byteLength;
    } else if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) {
      payload = new Uint8Array(data);
      size = data.byteLength;
    } else {
      payload = String(data);
      size = Buffer.byteLength(payload);
    }
    // WHATWG: send() step 3: after the connection left OPEN, only bufferedAmount grows.
    if (this.#readyState !== OPEN || this.#transport === null || this.#transport.connection.closeSent) {
      this.#bufferedAfterClose += size;
      return;
    }
    if (this.#blobQueue !== null || payload instanceof Blob) {
      this.#queueBehindBlobs(payload, size);
      return;
    }
    this.#noteQueued(this.#transport, size);
    this.#transport.send(payload, typeof payload !== "string", true);
  }

  #queueBehindBlobs(payload: Uint8Array | string | Blob, size: number): void {
    const queue = (this.#blobQueue ??= []);
    // Copy views now: the caller may reuse its buffer.
    queue.push(payload instanceof Uint8Array ? Buffer.from(payload) : payload);
    this.#blobBytes += size;
    if (queue.length === 1) void this.#drainBlobs();
  }

  async #drainBlobs(): Promise<void> {
    const queue = this.#blobQueue!;
    while (queue.length > 0) {
      const item = queue[0];
      let bytes: Uint8Array | string;
      try {
        bytes = item instanceof Blob ? new Uint8Array(await item.arrayBuffer()) : item;
      } catch {
        // An unreadable Blob: nothing can be sent for it (never throw into the event loop).
        bytes = EMPTY_BYTES;
      }
      queue.shift();
      const size = item instanceof Blob ? item.size : typeof item === "string" ? Buffer.byteLength(item) : item.length;
      this.#blobBytes -= size;
      // WHATWG: send(): data accepted while OPEN is sent unless the closing handshake has
      // started (here: a close frame already went out, e.g. the server closed first).
      const t = this.#transport;
      if (t !== null && !t.closed && !t.connection.closeSent) {
        this.#noteQueued(t, size);
        t.send(bytes, typeof bytes !== "string", true);
      } else {
        this.#bufferedAfterClose += size;
      }
    }
    this.#blobQueue = null;
    const pending = this.#pendingClose;
    if (pending !== null) {
      this.#pendingClose = null;
      this.#transport?.close(pending.code, pending.reason);
    }
  }

  /** Counts `size` application bytes handed to the transport (for bufferedAmount). */
  #noteQueued(t: Transport, size: number): void {
    // Everything handed over earlier has been written: start counting afresh.
    if (t.bufferedAmount === 0) this.#queuedBytes = 0;
    this.#queuedBytes += size;
  }

  /**
   * Closes the connection. `code` must be 1000 or 3000-4999 (else InvalidAccessError);
   * `reason` at most 123 UTF-8 bytes (else SyntaxError). WHATWG: close() steps 1-3.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined) {
      code = clampUnsignedShort(code);
      // WHATWG: close() step 1.
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) throw new DOMException(`The close code must be 1000 or in 3000-4999, got ${code}`, "InvalidAccessError");
    }
    const reasonText = reason === undefined ? "" : String(reason);
    // WHATWG: close() step 2: the UTF-8 encoded reason fits a control frame (RFC 6455 §5.5).
    if (Buffer.byteLength(reasonText) > 123) throw new DOMException("The close reason must be at most 123 UTF-8 bytes", "SyntaxError");
    // WHATWG: "establish a WebSocket closure": step by readyState.
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // Fail the connection: error, then close (1006).
      this.#readyState = CLOSING;
      this.#abort?.(new Error("closed before the connection was established"));
      return;
    }
    this.#readyState = CLOSING;
    // WHATWG: "establish a WebSocket closure": without code and reason the close frame has
    // no body; a non-empty reason without a code is sent with 1000.
    const status = code ?? (reasonText !== "" ? 1000 : 0);
    if (this.#blobQueue !== null) {
      // Blobs passed to send() before close() are still being read: they go first.
      this.#pendingClose = { code: status, reason: reasonText };
      return;
    }
    this.#transport!.close(status, reasonText);
  }

  // ---- connection ------------------------------------------------------------------------

  #connect(protocols: string[], options: WebSocketOptions): void {
    this.#onPong = options.onPong;
    const deflateOption = options.perMessageDeflate;
    const deflate: PerMessageDeflateOptions | null = deflateOption === undefined || deflateOption === false ? null : deflateOption === true ? {} : deflateOption;
    if (deflate !== null) validatePerMessageDeflateOptions(deflate);
    const maxPayload = options.maxPayload ?? CLIENT_DEFAULTS.maxPayload;
    openingHandshake(
      this.#url,
      protocols,
      deflate === null ? undefined : clientOffer(deflate),
      options,
      options.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
      (abort) => (this.#abort = abort),
    ).then(
      (opened) => {
        this.#abort = null;
        let codec: PerMessageDeflate | null = null;
        let extensions = "";
        try {
          if (deflate !== null) {
            // RFC 7692 §7.1: the answer must be acceptable for what we offered.
            const params = acceptClientResponse(opened.extensions || undefined, deflate);
            if (params !== null) {
              codec = new PerMessageDeflate(params, false, deflate, maxPayload);
              extensions = opened.extensions;
            }
          } else if (opened.extensions !== "") {
            // RFC 6455 §4.1 step 5: an extension we did not offer fails the connection.
            throw new Error(`server selected an extension that was not offered: ${opened.extensions}`);
          }
        } catch (err) {
          opened.socket.destroy();
          this.#failHandshake(err as Error);
          return;
        }
        if (this.#readyState !== CONNECTING) {
          opened.socket.destroy();
          this.#failHandshake(new Error("closed before the connection was established"));
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
        const transport = new Transport(opened.socket, this.#owner, transportOptions, codec);
        this.#transport = transport;
        this.#protocol = opened.protocol;
        this.#extensions = extensions;
        const s = opened.socket as { setNoDelay?: (v: boolean) => void };
        s.setNoDelay?.(true);
        // WHATWG: "when the WebSocket connection is established": OPEN, then fire open.
        this.#readyState = OPEN;
        transport.start();
        this.dispatchEvent(new Event("open"));
        if (opened.head.length > 0 && !transport.closed) transport.onData(opened.head);
      },
      (err: Error) => this.#failHandshake(err),
    );
  }

  #failHandshake(err: Error): void {
    this.#failure = err;
    this.#abort = null;
    // WHATWG: fail the connection: CLOSED, error, then close with 1006, not clean.
    this.#readyState = CLOSED;
    this.dispatchEvent(new Event("error"));
    this.dispatchEvent(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }));
  }

  readonly #owner: TransportOwner = {
    onMessage: (data: Buffer, isBinary: boolean): void => {
      // WHATWG: messages received after the connection left OPEN are not fired.
      if (this.#readyState !== OPEN) return;
      let value: string | ArrayBuffer | Blob;
      if (!isBinary) value = data.toString();
      else if (this.#binaryType === "arraybuffer") value = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
      else value = new Blob([data]);
      this.dispatchEvent(new WebSocketMessageEvent("message", { data: value, origin: this.#origin }));
    },
    onPing: noop,
    onPong: (data: Buffer): void => {
      // A listener's throw must not unwind through the parser: it becomes a process warning.
      try {
        this.#onPong?.(data);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err), "WebSocketOnPongWarning");
      }
    },
    onCloseFrame: (): void => {
      // WHATWG: the closing handshake has started: CLOSING.
      if (this.#readyState === OPEN) this.#readyState = CLOSING;
    },
    onDrain: noop,
    onError: (error: Error, failed: boolean): void => {
      this.#failure ??= error;
      // A socket error or an idle timeout is an abnormal closure (1006), not a failure.
      if (failed) this.#failed = true;
    },
    // Listeners run inside dispatchEvent, whose EventTarget reports their exceptions itself.
    onHandlerError: (error: unknown): void => {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    },
    onClosed: (): void => {
      const t = this.#transport!;
      const conn = t.connection;
      // WHATWG: bufferedAmount "does not reset to zero once the connection closes": bytes
      // never written stay counted.
      const held = t.bufferedAmount;
      this.#bufferedAfterClose += held < this.#queuedBytes ? held : this.#queuedBytes;
      this.#queuedBytes = 0;
      this.#readyState = CLOSED;
      // WHATWG: "when the WebSocket connection is closed": clean when both close frames
      // were exchanged; code 1005 if the close frame had none, 1006 if none arrived.
      const clean = conn.closeSent && conn.closeReceived && !this.#failed;
      const code = conn.closeReceived && !(t.error instanceof ProtocolError) ? conn.closeCode : 1006;
      // WHATWG: error only when the connection had to be failed (RFC 6455 §7.1.7: a protocol
      // violation, a message too big); a TCP close without a close frame, a socket error or
      // a close timeout is an abnormal closure (1006) without an error event, as in browsers.
      if (this.#failed) this.dispatchEvent(new Event("error"));
      this.dispatchEvent(new CloseEvent("close", { wasClean: clean, code, reason: code === 1006 ? "" : conn.closeReason }));
    },
  };
}

// WebIDL §3.7.5 constants: { writable: false, enumerable: true, configurable: false }.
for (const target of [WebSocket, WebSocket.prototype]) {
  Object.defineProperties(target, {
    CONNECTING: { value: CONNECTING, enumerable: true },
    OPEN: { value: OPEN, enumerable: true },
    CLOSING: { value: CLOSING, enumerable: true },
    CLOSED: { value: CLOSED, enumerable: true },
  });
}

function noop(): void {}

const EMPTY_BYTES = new Uint8Array(0);

/** WebIDL `[Clamp] unsigned short` (the type of close()'s code): NaN is 0, round half to even. */
function clampUnsignedShort(value: unknown): number {
  const n = Number(value);
  if (!(n > 0)) return 0;
  if (n >= 0xffff) return 0xffff;
  const floor = Math.floor(n);
  const fraction = n - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
