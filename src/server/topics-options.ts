/**
 * Options of durable topics, the wsx.topics.v1 subprotocol and the SSE endpoint
 * (`WebSocketServer` option `topics`). Documented in docs/TOPICS.md.
 */
import type { IncomingMessage } from "node:http";
import type { HistoryStore } from "./history.js";
import type { Offset } from "./offset.js";
import type { ServerWebSocket } from "./server-websocket.js";

/** Why a subscriber cannot get what it missed. */
export type UnrecoverableReason = "truncated" | "epoch" | "unavailable";

/** A subscriber's history cannot reach `from`: it continues live from the current position. */
export interface UnrecoverableEvent {
  readonly topic: string;
  /** The last offset the subscriber had. */
  readonly from: Offset;
  /**
   * "truncated": the count/age limits dropped messages after `from`; "epoch": the history
   * was lost and restarted (or `from` belongs to another lineage); "unavailable": the store
   * could not be read.
   */
  readonly reason: UnrecoverableReason;
}

/** Which topics are durable: a predicate, a pattern, or a list. */
export type DurableSelector = ((topic: string) => boolean) | RegExp | readonly string[];

/** What an authorization decision is about. */
export type TopicAction = "sub" | "pub";

/** Options of the SSE endpoint (`topics.sse`). */
export interface SseOptions {
  /** Path served, e.g. "/events" (query string ignored). */
  path: string;
  /** Comment heartbeat (`: ping`) interval, ms; 0 disables. Default 15000. */
  heartbeatMs?: number;
  /** `retry:` hint sent first, ms. Default 2000. */
  retryMs?: number;
  /** Bytes queued to a reader before it is dropped (`event: overflow`, then the end). Default 1 MiB. */
  maxBuffered?: number;
  /** Most topics one SSE request may name. Default 16. */
  maxTopics?: number;
  /** Most SSE streams open at once; more get 503. Default 10000. */
  maxStreams?: number;
}

/** The `topics` option of `WebSocketServer`. */
export interface TopicsOptions<T = unknown> {
  /** Which topics are durable (history, offsets, resume). Default: none (all ephemeral). */
  durable?: DurableSelector;
  /** Where durable topics keep their history. Default: `new MemoryHistory()`. Closed by `server.close()`. */
  history?: HistoryStore;
  /**
   * Decides whether a wsx.topics.v1 connection (a `ServerWebSocket`) or an SSE request (an
   * `IncomingMessage`) may subscribe to or publish on `topic`. Default: "sub" allowed,
   * "pub" denied. A throw or rejection counts as a denial.
   */
  authorize?: (subject: ServerWebSocket<T> | IncomingMessage, action: TopicAction, topic: string) => boolean | Promise<boolean>;
  /** Most messages replayed per history read (a page; pages repeat until caught up). Default 500. */
  replayBatch?: number;
  /** Live messages held per subscriber while its replay runs; past it the replay re-reads the history instead. Default 1000. */
  maxReplayBuffer?: number;
  /** Largest `last` a subscriber may ask for. Default 1000. */
  maxLast?: number;
  /** Most durable subscriptions per connection. Default 1000. */
  maxSubscriptions?: number;
  /**
   * For connections that do not speak wsx.topics.v1 (subscribed with `ws.subscribe(topic,
   * {from})`): the text frame of one durable message. Default: the wsx.topics.v1 `msg` frame.
   * `data` is the message's JSON text.
   */
  format?: (topic: string, offset: Offset, data: string) => string;
  /** For such connections: their history cannot reach `from`. Default: sends the wsx.topics.v1 `unrecoverable` frame. */
  unrecoverable?: (ws: ServerWebSocket<T>, event: UnrecoverableEvent) => void;
  /** For such connections: replay is done, live delivery begins. Default: sends the wsx.topics.v1 `subscribed` frame. */
  subscribed?: (ws: ServerWebSocket<T>, topic: string, offset: Offset | null) => void;
  /** Serve durable topics as Server-Sent Events on this path (needs `server`/`port`, not `noServer`). */
  sse?: SseOptions;
}

/** Options of a server-side durable subscription (`ws.subscribe(topic, options)`). */
export interface SubscribeOptions {
  /** The last offset the subscriber has: what follows it is replayed first. */
  from?: Offset;
  /** Without `from`: also replay up to this many recent messages. */
  last?: number;
}

/** Turns a selector into a predicate. */
export function durablePredicate(selector: DurableSelector | undefined): (topic: string) => boolean {
  if (selector === undefined) return () => false;
  if (typeof selector === "function") return selector;
  if (selector instanceof RegExp) return (topic) => selector.test(topic);
  const set = new Set(selector);
  return (topic) => set.has(topic);
}
