/**
 * The client of durable topics (`wsx.topics.v1`, docs/TOPICS.md) over a reconnecting
 * WebSocket: it remembers the last offset of every topic, subscribes again from there after
 * each reconnection, drops what a replay repeats, and reports `resumed` / `unrecoverable`.
 * Browser-safe.
 */
import type { AddEventListenerOptions, EventListenerOptions, EventListenerOrEventListenerObject } from "../events.js";
import { TopicResumedEvent, TopicErrorEvent, TopicUnrecoverableEvent } from "./events.js";
import { isNewOffset, parseOffset } from "./offset.js";
import { ReconnectError, type ReconnectingWebSocket } from "./reconnecting-websocket.js";

/** The subprotocol to open the socket with. */
export const TOPICS_PROTOCOL = "wsx.topics.v1";

/** Where a new subscription starts. */
export interface TopicSubscribeOptions {
  /** Resume after this offset (the last one the caller holds). */
  from?: string;
  /** Without `from`: replay up to this many recent messages first. Neither: live only. */
  last?: number;
}

/**
 * Called with each new message of a topic (replayed or live, never twice): its JSON value, or a
 * `Uint8Array` for a binary message published on an ephemeral topic.
 */
export type TopicMessageHandler = (data: unknown, offset: string | null, topic: string) => void;

/** A subscription made by {@link TopicClient.subscribe}. */
export interface TopicSubscription {
  readonly topic: string;
  /** The last offset seen (null: none yet, or the topic is not durable). */
  readonly offset: string | null;
  /** Settles when the server first confirms the subscription (its replay done); rejects on an `error` for it or on close. */
  readonly ready: Promise<void>;
  /** Ends the subscription. */
  unsubscribe(): void;
}

/** Options of {@link TopicClient}. */
export interface TopicClientOptions {
  /** Publishes awaiting their ack; past it `publish` rejects ("too-many-pending"). Default 1000. */
  maxPendingPublishes?: number;
  /**
   * Replay asked for on resuming a subscription that has seen no offset yet (the topic was
   * empty when it was made), so what was published while offline still arrives. Default 1000.
   */
  resumeLast?: number;
}

/** Why a publish or a subscription failed. */
export class TopicClientError extends Error {
  /**
   * The server's code (from its `error` frame), or "disconnected" (the connection was lost
   * before the ack: the message may or may not have been published), "closed", "too-many-pending".
   */
  readonly code: string;
  readonly topic: string | undefined;
  constructor(code: string, message: string, topic?: string) {
    super(message);
    this.name = "TopicClientError";
    this.code = code;
    this.topic = topic;
  }
}

interface TopicState {
  readonly topic: string;
  readonly handler: TopicMessageHandler;
  readonly request: TopicSubscribeOptions;
  last: string | null;
  /** A `subscribed` was received at least once. */
  confirmed: boolean;
  /** A `sub` was sent and its `subscribed` has not come yet. */
  pending: boolean;
  /** New messages since the last `sub`. */
  replayed: number;
  settle: (err?: Error) => void;
}

interface PendingPublish {
  resolve(offset: string | null): void;
  reject(err: Error): void;
  /** The connection number that carries (or will carry) the frame. */
  connection: number;
}

type Frame = { op?: unknown; topic?: unknown; offset?: unknown; data?: unknown; encoding?: unknown; from?: unknown; reason?: unknown; id?: unknown; code?: unknown; message?: unknown };

/**
 * Subscribes to and publishes on durable topics over a {@link ReconnectingWebSocket}
 * opened with {@link TOPICS_PROTOCOL}. Events: `resumed` ({@link TopicResumedEvent}, per topic,
 * after a reconnection's replay), `unrecoverable` ({@link TopicUnrecoverableEvent}: messages
 * were lost to this client; the subscription goes on live), `error` ({@link TopicErrorEvent}).
 * Connection events (`online`, `offline`, `close`) are the socket's.
 *
 * @example
 * const topics = new TopicClient(new ReconnectingWebSocket(url, TOPICS_PROTOCOL));
 * topics.subscribe("news", { last: 10 }, (data, offset) => show(data));
 * await topics.publish("news", { text: "hi" });
 */
export class TopicClient extends EventTarget {
  readonly #socket: ReconnectingWebSocket;
  readonly #topics = new Map<string, TopicState>();
  readonly #pending = new Map<string, PendingPublish>();
  readonly #maxPending: number;
  readonly #resumeLast: number;
  #nextId = 0;

  constructor(socket: ReconnectingWebSocket, options: TopicClientOptions = {}) {
    super();
    this.#socket = socket;
    this.#maxPending = options.maxPendingPublishes ?? 1000;
    this.#resumeLast = options.resumeLast ?? 1000;
    socket.addEventListener("online", () => {
      // Before the socket sends what it queued offline: subscriptions first.
      for (const state of this.#topics.values()) this.#sendSub(state);
    });
    socket.addEventListener("offline", () => this.#connectionLost(socket.connections));
    socket.addEventListener("close", () => this.#closed());
    socket.addEventListener("message", (event) => this.#onMessage((event as unknown as { data: unknown }).data));
    if (socket.readyState === 3) this.#closed();
  }

  /** The socket this client speaks over. */
  get socket(): ReconnectingWebSocket {
    return this.#socket;
  }

  /**
   * Subscribes to `topic`: from `options.from`, or the `options.last` most recent messages,
   * or live. `onMessage` gets every message once, in order, across reconnections. One
   * subscription per topic: subscribing again throws until it is unsubscribed.
   */
  subscribe(topic: string, options: TopicSubscribeOptions, onMessage: TopicMessageHandler): TopicSubscription {
    if (typeof topic !== "string" || topic === "") throw new TypeError("topic must be a non-empty string");
    if (this.#topics.has(topic)) throw new Error(`already subscribed to "${topic}"`);
    if (this.#socket.readyState >= 2) throw new ReconnectError("closed", "the topic client's socket is closed");
    if (options.from !== undefined && parseOffset(options.from) === null) throw new TypeError(`from: not an offset "<epoch>-<seq>": ${String(options.from)}`);
    if (options.last !== undefined && !(Number.isSafeInteger(options.last) && options.last >= 0)) throw new TypeError("last: a non-negative integer");
    let settle!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    ready.catch(() => {}); // rejections are for those who await it, not unhandled
    const state: TopicState = {
      topic,
      handler: onMessage,
      request: { ...options },
      last: options.from ?? null,
      confirmed: false,
      pending: false,
      replayed: 0,
      settle,
    };
    this.#topics.set(topic, state);
    if (this.#socket.readyState === 1) this.#sendSub(state);
    const topics = this.#topics;
    const socket = this.#socket;
    return {
      topic,
      get offset() {
        return state.last;
      },
      ready,
      unsubscribe() {
        if (topics.get(topic) !== state) return;
        topics.delete(topic);
        state.settle(new TopicClientError("unsubscribed", "unsubscribed", topic));
        if (socket.readyState === 1) socket.send(JSON.stringify({ op: "unsub", topic }));
      },
    };
  }

  /**
   * Publishes `data` (any JSON value) on `topic`; resolves with its offset (null when the
   * topic is not durable) once the server acknowledges it. Sent while offline, it waits in
   * the socket's queue. Rejects with a {@link TopicClientError} ("disconnected" when the connection
   * carrying it was lost before the ack) or the socket's {@link ReconnectError}.
   */
  publish(topic: string, data: unknown): Promise<string | null> {
    if (this.#pending.size >= this.#maxPending) {
      return Promise.reject(new TopicClientError("too-many-pending", `${this.#pending.size} publishes await their ack`, topic));
    }
    const id = String(++this.#nextId);
    let sent: boolean;
    try {
      sent = this.#socket.send(JSON.stringify({ op: "pub", topic, data, id }));
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      // Queued frames go out on the next connection.
      this.#pending.set(id, { resolve, reject, connection: this.#socket.connections + (sent ? 0 : 1) });
    });
  }

  /** Closes the socket for good (subscriptions end; pending publishes reject with "closed"). */
  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }

  #sendSub(state: TopicState): void {
    const frame: { op: "sub"; topic: string; from?: string; last?: number } = { op: "sub", topic: state.topic };
    if (state.last !== null) frame.from = state.last;
    else if (state.confirmed) frame.last = this.#resumeLast;
    else if (state.request.last !== undefined) frame.last = state.request.last;
    state.pending = true;
    state.replayed = 0;
    this.#socket.send(JSON.stringify(frame));
  }

  #onMessage(raw: unknown): void {
    let frame: Frame;
    try {
      frame = JSON.parse(typeof raw === "string" ? raw : "") as Frame;
    } catch {
      this.dispatchEvent(new TopicErrorEvent("bad-frame", "a frame that is not JSON text"));
      return;
    }
    if (frame === null || typeof frame !== "object") return;
    const state = typeof frame.topic === "string" ? this.#topics.get(frame.topic) : undefined;
    switch (frame.op) {
      case "msg": {
        if (state === undefined) return; // after unsubscribe
        const offset = typeof frame.offset === "string" ? frame.offset : null;
        if (offset !== null && parseOffset(offset) !== null) {
          // A replay that overlaps what we saw: drop the repeats.
          if (!isNewOffset(offset, state.last)) return;
          state.last = offset;
        }
        if (state.pending) state.replayed++;
        state.handler(frame.encoding === "base64" && typeof frame.data === "string" ? fromBase64(frame.data) : frame.data, offset, state.topic);
        return;
      }
      case "subscribed": {
        if (state === undefined) return;
        const offset = typeof frame.offset === "string" && parseOffset(frame.offset) !== null ? frame.offset : null;
        if (offset !== null && isNewOffset(offset, state.last)) state.last = offset;
        state.pending = false;
        if (!state.confirmed) {
          state.confirmed = true;
          state.settle();
        } else {
          this.dispatchEvent(new TopicResumedEvent(state.topic, offset, state.replayed));
        }
        return;
      }
      case "unrecoverable":
        if (state === undefined) return;
        this.dispatchEvent(new TopicUnrecoverableEvent(state.topic, String(frame.from ?? ""), String(frame.reason ?? "unavailable")));
        return;
      case "ack": {
        const pending = typeof frame.id === "string" ? this.#pending.get(frame.id) : undefined;
        if (pending === undefined) return;
        this.#pending.delete(frame.id as string);
        pending.resolve(typeof frame.offset === "string" ? frame.offset : null);
        return;
      }
      case "error": {
        const code = String(frame.code ?? "error");
        const message = String(frame.message ?? "");
        const topic = typeof frame.topic === "string" ? frame.topic : undefined;
        const pending = typeof frame.id === "string" ? this.#pending.get(frame.id) : undefined;
        if (pending !== undefined) {
          this.#pending.delete(frame.id as string);
          pending.reject(new TopicClientError(code, message, topic));
          return;
        }
        if (state !== undefined && !state.confirmed) state.settle(new TopicClientError(code, message, topic));
        this.dispatchEvent(new TopicErrorEvent(code, message, topic));
        return;
      }
    }
  }

  /** Connection number `n` was lost: publishes it carried may or may not have arrived. */
  #connectionLost(n: number): void {
    for (const [id, p] of this.#pending) {
      if (p.connection > n) continue;
      this.#pending.delete(id);
      p.reject(new TopicClientError("disconnected", "the connection was lost before the server acknowledged the message; it may or may not have been published"));
    }
  }

  #closed(): void {
    for (const p of this.#pending.values()) p.reject(new TopicClientError("closed", "the topic client's socket is closed"));
    this.#pending.clear();
    for (const state of this.#topics.values()) state.settle(new TopicClientError("closed", "the topic client's socket is closed", state.topic));
  }
}

/** The events of a {@link TopicClient}, by type. */
export interface TopicClientEventMap {
  resumed: TopicResumedEvent;
  unrecoverable: TopicUnrecoverableEvent;
  error: TopicErrorEvent;
}

/** The DOM's typing of `addEventListener`: a listener of a known type receives that event's class. */
export interface TopicClient {
  addEventListener<K extends keyof TopicClientEventMap>(type: K, listener: (this: TopicClient, ev: TopicClientEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof TopicClientEventMap>(type: K, listener: (this: TopicClient, ev: TopicClientEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** The bytes of a base64 text (`atob`: in browsers and Node ≥ 16). */
function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
