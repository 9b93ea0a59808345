/**
 * WHATWG WebSockets §WebSocketStream: a WebSocket as a ReadableStream of messages and a
 * WritableStream of messages, with backpressure both ways, on the same client core as
 * `WebSocket` (establish.ts, the transport). Comments cite the standard's steps.
 */
import { ProtocolError } from "../protocol/errors.js";
import type { Transport, TransportOwner } from "../transport/transport.js";
import { checkSubprotocols, establishWebSocketConnection, parseWebSocketURL } from "./establish.js";
import type { WebSocketOptions } from "./options.js";
import { exposeInterface, isShared, requireArguments, toDictionary, toUSVString } from "./webidl.js";
import { reportedWebSocketError, toCloseInfo, validateCloseCodeAndReason, WebSocketError, type WebSocketCloseInfo } from "./websocket-error.js";

/** WHATWG WebSockets §WebSocketStreamOptions. */
export interface WebSocketStreamOptions {
  /** Subprotocols to offer; the connection fails unless the server selects one of them. */
  protocols?: Iterable<string>;
  /** Aborts the opening handshake (it has no effect once the connection is open); both promises then reject with an AbortError. */
  signal?: AbortSignal;
}

/** WHATWG WebSockets §WebSocketOpenInfo: what `opened` resolves with. */
export interface WebSocketOpenInfo {
  /** Messages received: strings (text) and ArrayBuffers (binary), as Chromium gives them. */
  readable: ReadableStream<string | ArrayBuffer>;
  /** Messages to send: strings are sent as text, BufferSources as binary. */
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  /** The extensions the server selected. */
  extensions: string;
  /** The subprotocol the server selected. */
  protocol: string;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Node-only access for tests and tools, off the standard interface. */
const internals = new WeakMap<WebSocketStream, () => Transport | null>();

/** @internal The transport of a stream's connection (null until open). */
export function webSocketStreamTransport(wss: WebSocketStream): Transport | null {
  return internals.get(wss)?.() ?? null;
}

/**
 * A WebSocket client with streams: `opened` resolves with a `readable` of incoming messages
 * and a `writable` for outgoing ones. A reader that stops reading stops the socket being
 * read (the server then feels TCP backpressure); a write resolves once the socket can take
 * more. A third, Node-only argument takes {@link WebSocketOptions}.
 *
 * @example
 * const wss = new WebSocketStream("wss://example.com/chat", { protocols: ["chat.v1"] });
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * for await (const message of readable) console.log(message);
 */
export class WebSocketStream {
  readonly #url: URL;
  #readyState = CONNECTING;
  #handshakeAborted = false;
  #transport: Transport | null = null;
  #abortHandshake: ((reason: Error) => void) | null = null;
  #removeAbortListener: (() => void) | null = null;
  readonly #opened: Promise<WebSocketOpenInfo>;
  readonly #closed: Promise<WebSocketCloseInfo>;
  #resolveOpened!: (info: WebSocketOpenInfo) => void;
  #rejectOpened!: (error: unknown) => void;
  #resolveClosed!: (info: WebSocketCloseInfo) => void;
  #rejectClosed!: (error: unknown) => void;
  #readable: ReadableStreamDefaultController<string | ArrayBuffer> | null = null;
  #readableDone = false;
  #writable: WritableStreamDefaultController | null = null;
  /** A write waiting for the socket's drain. */
  #pendingWrite: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** True while the socket is paused because the readable's queue is full. */
  #readPaused = false;
  /** Set when the connection had to be failed (a protocol error by the peer …). */
  #failed = false;

  /**
   * `new WebSocketStream(url, { protocols, signal })` (WHATWG WebSockets §WebSocketStream
   * constructor steps); `options` is Node-only. A bad URL or protocol list is a SyntaxError
   * DOMException; Node has no document base URL, so `url` must be absolute.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}, nodeOptions: WebSocketOptions | null = {}) {
    requireArguments(arguments.length, 1, "WebSocketStream", "constructor");
    const urlString = toUSVString(url);
    // Web IDL: the options dictionary, members in lexicographic order.
    const dict = toDictionary(options, "Failed to construct 'WebSocketStream'");
    const protocolsValue = dict.protocols;
    const protocols = protocolsValue === undefined ? [] : toSequence(protocolsValue).map(toUSVString);
    const signalValue = dict.signal;
    if (signalValue !== undefined && !(signalValue instanceof AbortSignal)) throw new TypeError("Failed to construct 'WebSocketStream': signal is not an AbortSignal");
    const signal = signalValue as AbortSignal | undefined;
    // Steps 1-2: the URL record (http/https map to ws/wss; no fragment).
    const record = parseWebSocketURL(urlString);
    // Steps 3-4: protocols, each a token, none twice.
    checkSubprotocols(protocols);
    // Step 5.
    this.#url = record;
    // Step 6: the promises, marked as handled (a rejection nobody awaits is not an error).
    this.#opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#opened.catch(noop);
    this.#closed.catch(noop);
    internals.set(this, () => this.#transport);
    // Step 7: the signal.
    if (signal !== undefined) {
      if (signal.aborted) {
        // Step 7.2: already aborted: reject both, connect nowhere.
        this.#readyState = CLOSED;
        this.#handshakeAborted = true;
        const error = handshakeAborted();
        this.#rejectOpened(error);
        this.#rejectClosed(error);
        return;
      }
      const onAbort = (): void => this.#onAbortSignal();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#removeAbortListener = () => signal.removeEventListener("abort", onAbort);
    }
    // Step 8-9: establish the connection in parallel.
    this.#abortHandshake = establishWebSocketConnection(record, protocols, nodeOptions ?? {}, this.#owner, {
      wanted: () => this.#readyState === CONNECTING,
      established: ({ transport, protocol, extensions }) => this.#established(transport, protocol, extensions),
      failed: (error) => this.#handshakeFailed(error),
    });
  }

  /** The URL, after the http→ws mapping. */
  get url(): string {
    return this.#url.href;
  }

  /** Resolves with the streams, protocol and extensions once the connection is open. */
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened;
  }

  /** Resolves with `{ closeCode, reason }` on a clean close; rejects with a {@link WebSocketError} otherwise. */
  get closed(): Promise<WebSocketCloseInfo> {
    return this.#closed;
  }

  /**
   * Starts the closing handshake with `closeCode` (1000 or 3000-4999, else
   * InvalidAccessError) and `reason` (at most 123 UTF-8 bytes, else SyntaxError); while
   * connecting, abandons the connection. WHATWG: close() and "close the WebSocket".
   */
  close(closeInfo: WebSocketCloseInfo = {}): void {
    const { code, reason } = toCloseInfo(closeInfo, "Failed to execute 'close' on 'WebSocketStream'");
    this.#closeWebSocket(code, reason);
  }

  // ---- the standard's algorithms ---------------------------------------------------------

  /** WHATWG §"close the WebSocket". */
  #closeWebSocket(code: number | null, reason: string): void {
    // Step 1: validate (throws).
    const validated = validateCloseCodeAndReason(code, reason);
    if (this.#readyState === CONNECTING) {
      // Step 2: fail the WebSocket connection; opened and closed reject when it is closed.
      this.#readyState = CLOSING;
      this.#abortHandshake?.(new Error("closed before the connection was established"));
    } else if (this.#readyState === OPEN) {
      // Step 3: start the closing handshake (no status code when none was given).
      this.#readyState = CLOSING;
      // Messages are no longer delivered; read on, so the peer's close frame is seen.
      this.#resumeReading();
      this.#transport!.close(validated.code ?? 0, validated.reason);
    }
  }

  /** WHATWG §"close using reason": a WebSocketError chooses the close frame; anything else sends none. */
  #closeUsingReason(reason: unknown): void {
    let code: number | null = null;
    let text = "";
    if (reason instanceof WebSocketError) {
      code = reason.closeCode;
      text = reason.reason;
    }
    try {
      this.#closeWebSocket(code, text);
    } catch {
      // A WebSocketError was validated when constructed; nothing can be thrown here.
    }
  }

  /** The signal's abort steps: only the opening handshake can be aborted. */
  #onAbortSignal(): void {
    this.#removeAbortListener = null;
    if (this.#readyState !== CONNECTING) return;
    this.#handshakeAborted = true;
    this.#readyState = CLOSING;
    const error = handshakeAborted();
    this.#abortHandshake?.(error);
    this.#rejectOpened(error);
    this.#rejectClosed(error);
  }

  #handshakeFailed(_error: Error): void {
    this.#readyState = CLOSED;
    this.#abortHandshake = null;
    this.#removeAbortListener?.();
    this.#removeAbortListener = null;
    if (this.#handshakeAborted) return;
    // WHATWG: "when the WebSocket connection is closed", never connected: both reject.
    const error = reportedWebSocketError("the WebSocket connection could not be established", 1006, "");
    this.#rejectOpened(error);
    this.#rejectClosed(error);
  }

  /** WHATWG §"when the WebSocket connection is established" for a WebSocketStream. */
  #established(transport: Transport, protocol: string, extensions: string): void {
    this.#abortHandshake = null;
    this.#removeAbortListener?.();
    this.#removeAbortListener = null;
    this.#transport = transport;
    this.#readyState = OPEN;
    // The readable: one message queued is enough (a count strategy of 1); while it is full
    // the socket is not read, so the peer meets TCP backpressure.
    const readable = new ReadableStream<string | ArrayBuffer>(
      {
        start: (controller) => {
          this.#readable = controller;
        },
        pull: () => this.#resumeReading(),
        cancel: (reason) => {
          this.#readableDone = true;
          this.#resumeReading();
          this.#closeUsingReason(reason);
        },
      },
      { highWaterMark: 1 },
    );
    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>(
      {
        start: (controller) => {
          this.#writable = controller;
        },
        write: (chunk) => this.#write(chunk),
        close: () => {
          this.#closeWebSocket(null, "");
          // Resolves once the closing handshake is over (rejects if it was not clean).
          return this.#closed.then(noop);
        },
        abort: (reason) => this.#closeUsingReason(reason),
      },
      { highWaterMark: 1 },
    );
    this.#resolveOpened({ readable, writable, extensions, protocol });
  }

  /** The writable's write algorithm: send one message, settle when the socket can take more. */
  #write(chunk: unknown): Promise<void> | void {
    let data: Uint8Array | string;
    if (ArrayBuffer.isView(chunk)) {
      if (isShared(chunk.buffer)) throw new TypeError("a view of a SharedArrayBuffer cannot be sent");
      data = Buffer.from(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)); // a copy of the bytes
    } else if (chunk instanceof ArrayBuffer && !isShared(chunk)) {
      data = Buffer.from(new Uint8Array(chunk));
    } else {
      data = toUSVString(chunk); // may throw: the write rejects with it
    }
    const t = this.#transport!;
    if (this.#readyState !== OPEN || t.closed || t.connection.closeSent) {
      throw new DOMException("The WebSocket is closing or closed", "InvalidStateError");
    }
    t.send(data, typeof data !== "string", true);
    t.flush();
    // The socket's buffer is over its high-water mark: wait for its drain.
    if (!t.socket.writableNeedDrain) return;
    return new Promise<void>((resolve, reject) => {
      this.#pendingWrite = { resolve, reject };
    });
  }

  #resumeReading(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    const t = this.#transport;
    if (t !== null && !t.closed) t.resumeInput();
  }

  #pauseIfFull(): void {
    const c = this.#readable;
    if (this.#readPaused || this.#readableDone || c === null || (c.desiredSize ?? 1) > 0) return;
    const t = this.#transport;
    if (t === null || t.closed) return;
    this.#readPaused = true;
    t.pauseInput();
  }

  readonly #owner: TransportOwner = {
    onMessage: (data: Buffer, isBinary: boolean): void => {
      // WHATWG: messages after the connection left OPEN (or after cancel) are dropped.
      if (this.#readyState !== OPEN || this.#readableDone) return;
      // Text is a string; binary an ArrayBuffer of its own (the receiver's Buffer may be a
      // view into a larger chunk). The draft standard is unmerged; Chromium gives ArrayBuffers.
      this.#readable!.enqueue(isBinary ? (data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer) : data.toString());
      // The queue is full: stop reading the socket (and parsing what it already gave).
      this.#pauseIfFull();
    },
    onPing: noop,
    onPong: noop,
    onCloseFrame: (): void => {
      if (this.#readyState === OPEN) this.#readyState = CLOSING;
    },
    onDrain: (): void => {
      const w = this.#pendingWrite;
      this.#pendingWrite = null;
      w?.resolve();
    },
    onError: (_error: Error, failed: boolean): void => {
      // A socket error or an idle timeout is an abnormal closure (1006), not a failure.
      if (failed) this.#failed = true;
    },
    // The stream's own callbacks run in promise jobs; nothing of a user's runs in here.
    onHandlerError: noop,
    onClosed: (): void => this.#connectionClosed(),
  };

  /** WHATWG §"when the WebSocket connection is closed" for a WebSocketStream. */
  #connectionClosed(): void {
    const t = this.#transport!;
    const conn = t.connection;
    this.#readyState = CLOSED;
    const clean = conn.closeSent && conn.closeReceived && !this.#failed;
    const code = conn.closeReceived && !(t.error instanceof ProtocolError) ? conn.closeCode : 1006;
    const reason = code === 1006 ? "" : conn.closeReason;
    const pending = this.#pendingWrite;
    this.#pendingWrite = null;
    if (clean) {
      // Closed cleanly: the readable ends, the writable can no longer be written.
      if (!this.#readableDone) {
        this.#readableDone = true;
        try {
          this.#readable?.close();
        } catch {
          // already closed by the reader
        }
      }
      const error = new DOMException("A closed WebSocketStream cannot be written to", "InvalidStateError");
      pending?.reject(error);
      this.#writable?.error(error);
      this.#resolveClosed({ closeCode: code, reason });
    } else {
      const error = reportedWebSocketError("the WebSocket connection was closed abnormally", code, reason);
      this.#readableDone = true;
      this.#readable?.error(error);
      pending?.reject(error);
      this.#writable?.error(error);
      this.#rejectClosed(error);
    }
  }
}
exposeInterface(WebSocketStream, { name: "WebSocketStream", attributes: ["url", "opened", "closed"], operations: { close: 0 } });

/** Web IDL `sequence<T>`: an iterable object, else a TypeError. */
function toSequence(value: unknown): unknown[] {
  const iterator = (value as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator];
  if ((typeof value !== "object" && typeof value !== "function") || value === null || typeof iterator !== "function") {
    throw new TypeError("Failed to construct 'WebSocketStream': protocols is not a sequence");
  }
  return Array.from(value as Iterable<unknown>);
}

function noop(): void {}

/**
 * What an aborted handshake rejects with. Chromium rejects with this AbortError rather than
 * the signal's reason; the draft standard is unmerged, so wsx does as the shipping browser.
 */
function handshakeAborted(): DOMException {
  return new DOMException("WebSocket handshake was aborted", "AbortError");
}
