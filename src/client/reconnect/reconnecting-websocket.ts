/**
 * A WebSocket that reconnects: capped exponential backoff with full jitter between
 * attempts, a bounded queue for what is sent while offline, and `online` / `offline` /
 * `close` events. Browser-safe: no Node imports; it drives whatever WebSocket it is given
 * (the page's own in a browser, wsx's in Node through `wsx`'s subclass), so `wsx serve`
 * serves this file to its chat page as it is compiled.
 */
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import type { AddEventListenerOptions, EventListenerOptions, EventListenerOrEventListenerObject } from "../events.js";
import { OfflineEvent, OnlineEvent, ReconnectingCloseEvent, ReconnectingMessageEvent, type CloseInfo } from "./events.js";

/** The part of a WHATWG `WebSocket` this client uses (the browser's and wsx's both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

/** Timer functions, replaceable (tests drive time by hand). */
export interface ReconnectTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link ReconnectingWebSocket}; times in ms, sizes in bytes. */
export interface ReconnectingWebSocketOptions extends BackoffOptions {
  /** A connection open this long resets the backoff to its first step. Default 5000. */
  resetAfter?: number;
  /** Consecutive failed attempts after which the client gives up (`close`). Default Infinity. */
  maxRetries?: number;
  /** An attempt not open within this time is abandoned and counts as failed. Default 10000. */
  connectTimeout?: number;
  /**
   * Messages `send` may queue while offline; past it `send` throws a {@link ReconnectError}
   * "queue-full". 0 queues nothing: `send` while offline throws "offline". Default 1000.
   */
  maxQueuedMessages?: number;
  /** Bytes (UTF-8 for text) `send` may queue while offline. Default 1048576. */
  maxQueuedBytes?: number;
  /**
   * Whether to reconnect after a connection closed with this code; see
   * {@link isRetryableClose} for the default.
   */
  shouldReconnect?: (close: CloseInfo) => boolean;
  /**
   * In a browser, try at once when the page's `online` event says the network is back,
   * instead of waiting out the backoff. Default true (no effect where there is no such event).
   */
  retryOnNetworkOnline?: boolean;
  /** `binaryType` set on every connection. Default: the WebSocket's own. */
  binaryType?: string;
  /** Makes each connection. Default: `new globalThis.WebSocket(url, protocols)`. */
  createWebSocket?: (url: string, protocols: string[]) => WebSocketLike;
  /** Random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Clock for `resetAfter`, ms. Default `Date.now`. */
  now?: () => number;
  /** Timer functions. Default the global `setTimeout` / `clearTimeout`. */
  timers?: ReconnectTimers;
}

/** Defaults of {@link ReconnectingWebSocketOptions}. */
export const RECONNECT_DEFAULTS: Readonly<{ resetAfter: number; maxRetries: number; connectTimeout: number; maxQueuedMessages: number; maxQueuedBytes: number }> = Object.freeze({
  resetAfter: 5000,
  maxRetries: Infinity,
  connectTimeout: 10_000,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 1024 * 1024,
});

/** Why `send` refused a message. */
export type ReconnectErrorCode = "queue-full" | "offline" | "closed";

/** Thrown by `send` when a message can be neither sent nor queued. */
export class ReconnectError extends Error {
  /** "queue-full": the offline queue is at its bound; "offline": queueing is off; "closed": `close()` was called or the client gave up. */
  readonly code: ReconnectErrorCode;
  constructor(code: ReconnectErrorCode, message: string) {
    super(message);
    this.name = "ReconnectError";
    this.code = code;
  }
}

// Close codes after which the same connection would fail the same way (RFC 6455 §7.4.1):
// 1000 the server ended the session on purpose; 1002 protocol error; 1003 unsupported data;
// 1007 invalid payload; 1008 policy violation (auth, origin); 1009 message too big;
// 1010 missing extension; 1015 TLS failure.
const FINAL_CODES = new Set([1000, 1002, 1003, 1007, 1008, 1009, 1010, 1015]);

/**
 * The default reconnection policy: reconnect after 1001 (going away), 1005 (no status),
 * 1006 (abnormal: a dropped TCP connection or a failed handshake), 1011 (server error),
 * 1012 (service restart), 1013 (try again later), 1014 (bad gateway) and other codes below
 * 3000 that RFC 6455 does not make final; never after the {@link FINAL_CODES} or after
 * application codes (3000–4999: their meaning is the application's, so it decides, with
 * `shouldReconnect`).
 */
export function isRetryableClose(code: number): boolean {
  return code < 3000 && !FINAL_CODES.has(code);
}

/** UTF-8 length of a string, counted without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Size of a message as it will be sent: UTF-8 bytes of a string, else its byte length / Blob size. */
function messageSize(data: unknown): number {
  if (typeof data === "string") return utf8Length(data);
  const d = data as { byteLength?: number; size?: number };
  return typeof d?.byteLength === "number" ? d.byteLength : typeof d?.size === "number" ? d.size : 0;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type State = "connecting" | "open" | "waiting" | "closing" | "closed";

/**
 * A WebSocket that reconnects after a lost connection, until `close()` or a close code it
 * does not retry. Events: `online` ({@link OnlineEvent}, after each open, before queued
 * messages are sent: what its listeners send goes first), `offline` ({@link OfflineEvent},
 * once per outage), `message` ({@link ReconnectingMessageEvent}) and `close`
 * ({@link ReconnectingCloseEvent}, once, when it stops for good).
 *
 * Sends while offline are queued up to `maxQueuedMessages` / `maxQueuedBytes` and sent in
 * order on the next connection; past the bound `send` throws rather than drop silently.
 * What was handed to a connection that then dropped may or may not have arrived: a
 * protocol with acknowledgements (the topic client's `publish`) tells.
 */
export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  readonly #url: string;
  readonly #protocols: string[];
  readonly #options: ReconnectingWebSocketOptions & typeof RECONNECT_DEFAULTS;
  readonly #create: (url: string, protocols: string[]) => WebSocketLike;
  readonly #timers: ReconnectTimers;
  readonly #now: () => number;
  #state: State = "connecting";
  #socket: WebSocketLike | null = null;
  #detach: (() => void) | null = null;
  /** The backoff timer, or the current attempt's connect timeout. */
  #timer: unknown = null;
  /** Consecutive failures (the backoff step); reset by a connection open `resetAfter` ms. */
  #failures = 0;
  /** Attempts since the last open (reported by `online`). */
  #attempts = 0;
  #connections = 0;
  #openedAt = 0;
  /** Whether `offline` was fired for the current outage. */
  #offlineReported = false;
  #queue: unknown[] = [];
  #queuedBytes = 0;
  /** Removes the listener of the page's `online` event, if one was added. */
  #unlisten: (() => void) | null = null;

  /**
   * Connects to `url` at once. `protocols` are offered on every connection. Throws a
   * SyntaxError (from the WebSocket) when the first connection cannot even be made.
   */
  constructor(url: string | URL, protocols: string | string[] = [], options: ReconnectingWebSocketOptions = {}) {
    super();
    this.#url = String(url);
    this.#protocols = typeof protocols === "string" ? [protocols] : [...protocols];
    const merged: Record<string, unknown> = { ...options };
    // An option given as undefined takes its default.
    for (const [key, value] of Object.entries(RECONNECT_DEFAULTS)) if (merged[key] === undefined) merged[key] = value;
    this.#options = merged as unknown as ReconnectingWebSocketOptions & typeof RECONNECT_DEFAULTS;
    this.#create =
      options.createWebSocket ??
      ((u, p) => {
        const Ctor = (globalThis as unknown as { WebSocket?: new (u: string, p: string[]) => WebSocketLike }).WebSocket;
        if (Ctor === undefined) throw new TypeError("no global WebSocket here: pass options.createWebSocket (in Node, use wsx's ReconnectingWebSocket)");
        return new Ctor(u, p);
      });
    const g = globalThis as unknown as ReconnectTimers;
    this.#timers = options.timers ?? { setTimeout: (f, ms) => g.setTimeout(f, ms), clearTimeout: (h) => g.clearTimeout(h) };
    this.#now = options.now ?? Date.now;
    // The first attempt throws what a bad URL throws; later ones count as failures.
    this.#connect(true);
    const page = globalThis as unknown as { addEventListener?: (t: string, f: () => void) => void; removeEventListener(t: string, f: () => void): void };
    if (options.retryOnNetworkOnline !== false && typeof page.addEventListener === "function") {
      // The network is back (window `online`): waiting out a long backoff would only delay.
      const retryNow = (): void => {
        if (this.#state !== "waiting") return;
        this.#clearTimer();
        this.#connect(false);
      };
      page.addEventListener("online", retryNow);
      this.#unlisten = () => page.removeEventListener("online", retryNow);
    }
  }

  /** The URL every connection goes to. */
  get url(): string {
    return this.#url;
  }
  /** CONNECTING (also between attempts), OPEN, CLOSING (after `close()`), CLOSED (for good). */
  get readyState(): number {
    const s = this.#state;
    return s === "open" ? OPEN : s === "closing" ? CLOSING : s === "closed" ? CLOSED : CONNECTING;
  }
  /** The current connection's subprotocol ("" when offline). */
  get protocol(): string {
    return this.#state === "open" ? this.#socket!.protocol : "";
  }
  /** The current connection's extensions ("" when offline). */
  get extensions(): string {
    return this.#state === "open" ? this.#socket!.extensions : "";
  }
  /** Bytes the current connection has not yet sent, plus the offline queue's bytes. */
  get bufferedAmount(): number {
    return (this.#socket?.bufferedAmount ?? 0) + this.#queuedBytes;
  }
  /** Messages waiting in the offline queue. */
  get queuedMessages(): number {
    return this.#queue.length;
  }
  /** Connections opened so far (the first one included). */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Sends `data` on the open connection (returns true), or queues it for the next one
   * (returns false). Throws a {@link ReconnectError}: "closed" after `close()` or giving up,
   * "offline" when queueing is off, "queue-full" past `maxQueuedMessages` / `maxQueuedBytes`.
   */
  send(data: unknown): boolean {
    const s = this.#state;
    if (s === "closing" || s === "closed") throw new ReconnectError("closed", "the reconnecting WebSocket is closed");
    // A socket in its closing handshake would discard the message (WHATWG §send): queue it.
    if (s === "open" && this.#socket!.readyState === OPEN) {
      this.#socket!.send(data);
      return true;
    }
    const { maxQueuedMessages, maxQueuedBytes } = this.#options;
    if (maxQueuedMessages <= 0) throw new ReconnectError("offline", "offline, and offline sends are not queued (maxQueuedMessages is 0)");
    const size = messageSize(data);
    if (this.#queue.length >= maxQueuedMessages || this.#queuedBytes + size > maxQueuedBytes) {
      throw new ReconnectError("queue-full", `offline queue full (${this.#queue.length} messages, ${this.#queuedBytes} bytes)`);
    }
    this.#queue.push(data);
    this.#queuedBytes += size;
    return false;
  }

  /**
   * Stops for good: closes the current connection with `code` / `reason` (checked as
   * `WebSocket.close` checks them), cancels any pending attempt, drops the offline queue,
   * and fires `close` once: after the connection's closing handshake, or at once (during
   * this call, with `code` or 1000) when no connection is open. No timer is left behind.
   */
  close(code?: number, reason?: string): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    const socket = this.#socket;
    // The socket validates code and reason first: a bad one throws before anything changes.
    if (socket !== null) socket.close(code, reason);
    this.#clearTimer();
    this.#dropQueue();
    if (socket !== null && socket.readyState !== CLOSED) {
      this.#state = "closing"; // `close` follows the socket's own close event
      return;
    }
    this.#finish({ code: code ?? 1000, reason: reason ?? "", wasClean: true });
  }

  #connect(first: boolean): void {
    this.#timer = null;
    this.#state = "connecting";
    this.#attempts++;
    let socket: WebSocketLike;
    try {
      socket = this.#create(this.#url, this.#protocols);
    } catch (err) {
      if (first) throw err;
      this.#lost({ code: 1006, reason: "", wasClean: false });
      return;
    }
    if (this.#options.binaryType !== undefined) socket.binaryType = this.#options.binaryType;
    const onOpen = (): void => this.#onOpen();
    const onMessage = (event: { data: unknown }): void => void this.dispatchEvent(new ReconnectingMessageEvent(event.data));
    const onClose = (event: CloseInfo): void => this.#onClose({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    this.#socket = socket;
    this.#detach = () => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
    };
    this.#timer = this.#timers.setTimeout(() => {
      // No answer in time: abandon this attempt (its late events are ignored) and retry.
      this.#timer = null;
      this.#detachSocket();
      try {
        socket.close();
      } catch {
        // already closing
      }
      this.#lost({ code: 1006, reason: "connect timeout", wasClean: false });
    }, this.#options.connectTimeout);
  }

  #onOpen(): void {
    this.#clearTimer();
    this.#state = "open";
    this.#connections++;
    this.#openedAt = this.#now();
    this.#offlineReported = false;
    const attempts = this.#attempts;
    this.#attempts = 0;
    this.dispatchEvent(new OnlineEvent(attempts, this.#connections > 1));
    // Listeners went first; then what was queued while offline, in order.
    while (this.#queue.length > 0 && this.#state === "open" && this.#socket!.readyState === OPEN) {
      const data = this.#queue.shift();
      this.#queuedBytes -= messageSize(data);
      this.#socket!.send(data);
    }
  }

  #onClose(info: CloseInfo): void {
    this.#detachSocket();
    this.#clearTimer();
    if (this.#state === "closing") {
      this.#finish(info);
      return;
    }
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#options.resetAfter) this.#failures = 0;
    const retry = this.#options.shouldReconnect ?? ((c: CloseInfo) => isRetryableClose(c.code));
    let again: boolean;
    try {
      again = retry(info);
    } catch {
      again = false;
    }
    if (!again) {
      this.#dropQueue();
      this.#finish(info);
      return;
    }
    this.#lost(info);
  }

  /** A connection was lost or an attempt failed: wait, then try again (or give up). */
  #lost(info: CloseInfo): void {
    if (this.#failures >= this.#options.maxRetries) {
      this.#dropQueue();
      this.#finish(info);
      return;
    }
    const delay = backoffDelay(this.#failures, this.#options, this.#options.random);
    this.#failures++;
    this.#state = "waiting";
    this.#timer = this.#timers.setTimeout(() => this.#connect(false), delay);
    if (!this.#offlineReported) {
      this.#offlineReported = true;
      this.dispatchEvent(new OfflineEvent(info, delay));
    }
  }

  #finish(info: CloseInfo): void {
    this.#state = "closed";
    this.#socket = null;
    this.#unlisten?.();
    this.#unlisten = null;
    this.dispatchEvent(new ReconnectingCloseEvent(info));
  }

  #detachSocket(): void {
    this.#detach?.();
    this.#detach = null;
    this.#socket = null;
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #dropQueue(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

/** The events of a {@link ReconnectingWebSocket}, by type. */
export interface ReconnectingWebSocketEventMap {
  online: OnlineEvent;
  offline: OfflineEvent;
  message: ReconnectingMessageEvent;
  close: ReconnectingCloseEvent;
}

/** The DOM's typing of `addEventListener`: a listener of a known type receives that event's class. */
export interface ReconnectingWebSocket {
  addEventListener<K extends keyof ReconnectingWebSocketEventMap>(type: K, listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ReconnectingWebSocketEventMap>(type: K, listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
