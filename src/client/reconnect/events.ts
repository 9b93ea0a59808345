/**
 * Events of the reconnecting client and the topic client. Plain `Event` subclasses with
 * read-only fields, so the same code runs in Node (global `Event`, `EventTarget`) and in a
 * browser. Browser-safe.
 */

/** `online`: a connection opened (the first one, or a reconnection). */
export class OnlineEvent extends Event {
  /** Connection attempts this connection took (1: the first try succeeded). */
  readonly attempt: number;
  /** False for the first connection, true for every reconnection. */
  readonly reconnected: boolean;
  constructor(attempt: number, reconnected: boolean) {
    super("online");
    this.attempt = attempt;
    this.reconnected = reconnected;
  }
}

/** What a closed connection reported (WHATWG WebSockets §CloseEvent's fields). */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** `offline`: the connection was lost (or the first one could not be made); fired once per outage. */
export class OfflineEvent extends Event implements CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** Time until the next connection attempt, ms. */
  readonly retryIn: number;
  constructor(info: CloseInfo, retryIn: number) {
    super("offline");
    this.code = info.code;
    this.reason = info.reason;
    this.wasClean = info.wasClean;
    this.retryIn = retryIn;
  }
}

/** `close`: the reconnecting client stopped for good (its own `close()`, or a close it does not retry). */
export class ReconnectingCloseEvent extends Event implements CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(info: CloseInfo) {
    super("close");
    this.code = info.code;
    this.reason = info.reason;
    this.wasClean = info.wasClean;
  }
}

/** `message`: a message from the current connection (`data` as its WebSocket gave it). */
export class ReconnectingMessageEvent<T = unknown> extends Event {
  readonly data: T;
  constructor(data: T) {
    super("message");
    this.data = data;
  }
}

/** `resumed`: a topic was subscribed again after a reconnection, and its replay is done. */
export class TopicResumedEvent extends Event {
  readonly topic: string;
  /** The topic's offset the server reported once the replay was done (null: not durable, or empty). */
  readonly offset: string | null;
  /** Messages the replay delivered (duplicates not counted). */
  readonly replayed: number;
  constructor(topic: string, offset: string | null, replayed: number) {
    super("resumed");
    this.topic = topic;
    this.offset = offset;
    this.replayed = replayed;
  }
}

/** Why the server could not replay a topic from the offset asked for (docs/TOPICS.md). */
export type TopicUnrecoverableReason = "truncated" | "epoch" | "unavailable";

/** `unrecoverable`: messages of `topic` after `from` are lost to this client; the subscription goes on live. */
export class TopicUnrecoverableEvent extends Event {
  readonly topic: string;
  /** The offset the client asked to resume from. */
  readonly from: string;
  readonly reason: TopicUnrecoverableReason | string;
  constructor(topic: string, from: string, reason: string) {
    super("unrecoverable");
    this.topic = topic;
    this.from = from;
    this.reason = reason;
  }
}

/** `error` of the topic client: an `error` frame from the server, or a frame it could not read. */
export class TopicErrorEvent extends Event {
  /** The server's code, or "bad-frame" for a frame the client could not read. */
  readonly code: string;
  readonly message: string;
  readonly topic: string | undefined;
  constructor(code: string, message: string, topic?: string) {
    super("error");
    this.code = code;
    this.message = message;
    this.topic = topic;
  }
}
