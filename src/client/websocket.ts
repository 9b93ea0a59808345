/**
 * The WHATWG WebSocket interface for Node (https://websockets.spec.whatwg.org/), on top of
 * the wsx transport. Comments cite the standard's algorithm steps.
 */
import { ProtocolError } from "../protocol/errors.js";
import { takeMessageBuffer } from "../protocol/receiver.js";
import type { Transport, TransportOwner } from "../transport/transport.js";
import { EventHandlers, type EventHandler } from "./event-handlers.js";
import { checkSubprotocols, establishWebSocketConnection, parseWebSocketURL } from "./establish.js";
import {
  CloseEvent,
  WebSocketMessageEvent,
  type AddEventListenerOptions,
  type EventListenerOptions,
  type EventListenerOrEventListenerObject,
  type WebSocketEventMap,
} from "./events.js";
import { internals } from "./node-access.js";
import type { WebSocketOptions } from "./options.js";
import { exposeInterface, isShared, requireArguments, toClampedUnsignedShort, toDOMString, toUSVString } from "./webidl.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** What `binaryType` may be. */
export type BinaryType = "blob" | "arraybuffer";

export { clientFailure, clientHttpVersion, pingClient } from "./node-access.js";

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
  #httpVersion: "1.1" | "2" | null = null;
  #onPong: ((data: Buffer) => void) | undefined;
  readonly #handlers: EventHandlers;

  /**
   * Opens a connection to `url` (ws:, wss:, http: or https:), offering `protocols` (a
   * subprotocol or a list of them). `options` is Node-only (see {@link WebSocketOptions}).
   * Throws a TypeError without arguments, and a SyntaxError DOMException for a bad URL or
   * protocol list (WHATWG: new WebSocket()). Node has no document base URL, so `url` must
   * be absolute.
   */
  constructor(url: string | URL, protocols: string | Iterable<string> = [], options: WebSocketOptions | null = {}) {
    // Web IDL: the argument count, then each argument's conversion, then the steps.
    requireArguments(arguments.length, 1, "WebSocket", "constructor");
    const urlString = toUSVString(url);
    const list = toProtocolList(protocols);
    super();
    // WHATWG: new WebSocket() steps 1-6 (URL record, scheme, fragment).
    const parsed = parseWebSocketURL(urlString);
    // Steps 7-8: no duplicates, each a token.
    checkSubprotocols(list);
    this.#url = parsed;
    this.#origin = parsed.origin;
    this.#handlers = new EventHandlers(this);
    internals.set(this, { transport: () => this.#transport, failure: () => this.#failure, httpVersion: () => this.#httpVersion });
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
    // Web IDL enumeration attribute: convert to a string; a value not in the enum is ignored.
    const v = toDOMString(value);
    if (v === "blob" || v === "arraybuffer") this.#binaryType = v;
  }

  /** HTML §EventHandler for `open`. */
  get onopen(): EventHandler<WebSocket, Event> {
    return this.#handlers.get("open");
  }
  set onopen(f: EventHandler<WebSocket, Event>) {
    this.#handlers.set("open", f);
  }
  /** HTML §EventHandler for `message`. */
  get onmessage(): EventHandler<WebSocket, WebSocketMessageEvent> {
    return this.#handlers.get("message");
  }
  set onmessage(f: EventHandler<WebSocket, WebSocketMessageEvent>) {
    this.#handlers.set("message", f);
  }
  /** HTML §EventHandler for `error`. */
  get onerror(): EventHandler<WebSocket, Event> {
    return this.#handlers.get("error");
  }
  set onerror(f: EventHandler<WebSocket, Event>) {
    this.#handlers.set("error", f);
  }
  /** HTML §EventHandler for `close`. */
  get onclose(): EventHandler<WebSocket, CloseEvent> {
    return this.#handlers.get("close");
  }
  set onclose(f: EventHandler<WebSocket, CloseEvent>) {
    this.#handlers.set("close", f);
  }

  /**
   * Sends a message: a string (text), or an ArrayBuffer, ArrayBufferView or Blob (binary).
   * Throws InvalidStateError while CONNECTING (WHATWG: send() step 1).
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    // Web IDL: the argument count and the (BufferSource or Blob or USVString) conversion
    // come before the method's steps.
    requireArguments(arguments.length, 1, "WebSocket", "send");
    let payload: Uint8Array | string | Blob;
    let size: number;
    if (typeof data === "string") {
      payload = data;
      size = Buffer.byteLength(data);
    } else if (data instanceof Blob) {
      payload = data;
      size = data.size;
    } else if (ArrayBuffer.isView(data)) {
      // Web IDL: a BufferSource without [AllowShared] may not view a SharedArrayBuffer.
      if (isShared(data.buffer)) throw new TypeError("Failed to execute 'send' on 'WebSocket': the view's buffer is a SharedArrayBuffer");
      payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      size = data.byteLength;
    } else if (data instanceof ArrayBuffer && !isShared(data)) {
      payload = new Uint8Array(data);
      size = data.byteLength;
    } else {
      payload = toUSVString(data);
      size = Buffer.byteLength(payload);
    }
    // WHATWG: send() step 1.
    if (this.#readyState === CONNECTING) throw new DOMException("WebSocket is still connecting", "InvalidStateError");
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
    // Web IDL: both arguments are converted before the steps run.
    if (code !== undefined) code = toClampedUnsignedShort(code);
    const reasonText = reason === undefined ? "" : toUSVString(reason);
    // WHATWG: close() step 1.
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) throw new DOMException(`The close code must be 1000 or in 3000-4999, got ${code}`, "InvalidAccessError");
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
    this.#abort = establishWebSocketConnection(this.#url, protocols, options, this.#owner, {
      wanted: () => this.#readyState === CONNECTING,
      established: ({ transport, protocol, extensions, httpVersion }) => {
        this.#abort = null;
        this.#transport = transport;
        this.#httpVersion = httpVersion;
        this.#protocol = protocol;
        this.#extensions = extensions;
        // WHATWG: "when the WebSocket connection is established": OPEN, then fire open.
        this.#readyState = OPEN;
        this.dispatchEvent(new Event("open"));
      },
      failed: (err) => this.#failHandshake(err),
    });
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
      // A message the receiver assembled in a buffer of its own is handed out as it is.
      else if (this.#binaryType === "arraybuffer") value = takeMessageBuffer(data) ?? (data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer);
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

/**
 * The DOM's typing of `addEventListener`/`removeEventListener` on a WebSocket: a listener
 * for a known event type receives that event's class (`"message"` gives a
 * {@link WebSocketMessageEvent}, `"close"` a {@link CloseEvent}).
 */
export interface WebSocket {
  addEventListener<K extends keyof WebSocketEventMap>(type: K, listener: (this: WebSocket, ev: WebSocketEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof WebSocketEventMap>(type: K, listener: (this: WebSocket, ev: WebSocketEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

exposeInterface(WebSocket, {
  name: "WebSocket",
  attributes: ["url", "readyState", "bufferedAmount", "onopen", "onerror", "onclose", "extensions", "protocol", "onmessage", "binaryType"],
  operations: { close: 0, send: 1 },
});

/** Web IDL `(DOMString or sequence<DOMString>)`: an iterable object is a sequence, anything else a string. */
function toProtocolList(protocols: unknown): string[] {
  if ((typeof protocols === "object" && protocols !== null) || typeof protocols === "function") {
    const iterator = (protocols as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (iterator !== undefined && iterator !== null) {
      if (typeof iterator !== "function") throw new TypeError("Failed to construct 'WebSocket': protocols is not iterable");
      return Array.from(protocols as Iterable<unknown>, toDOMString);
    }
  }
  return [toDOMString(protocols)];
}

const EMPTY_BYTES = new Uint8Array(0);
