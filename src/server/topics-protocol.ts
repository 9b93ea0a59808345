/**
 * The wsx.topics.v1 subprotocol (docs/TOPICS.md): JSON text frames through which a client
 * subscribes (from an offset, or with the last N messages), unsubscribes and publishes; and
 * the sink that delivers durable messages to a WebSocket, in wsx.topics.v1 frames or, for a
 * connection subscribed through `ws.subscribe(topic, { from })`, in the server's own format.
 */
import { CloseCode } from "../protocol/close-code.js";
import type { DurableTopics, Subscription, TopicSink } from "./durable-topics.js";
import type { HistoryEntry } from "./history.js";
import { parseOffset, type Offset, type OffsetParts } from "./offset.js";
import { PublishFrames } from "./publish-frames.js";
import type { ServerWebSocket } from "./server-websocket.js";
import type { TopicsOptions, UnrecoverableReason } from "./topics-options.js";

/** The subprotocol name (`Sec-WebSocket-Protocol`). */
export const TOPICS_PROTOCOL = "wsx.topics.v1";

/** Longest topic name accepted from a client, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 256;
/** Operations of one connection waiting on an asynchronous `authorize`; more close it with 1008. */
const MAX_PENDING_OPS = 256;

/** The `msg` frame's text. `data` is JSON text. */
export function msgFrame(topic: string, offset: Offset | null, data: string): string {
  return `{"op":"msg","topic":${JSON.stringify(topic)},"offset":${offset === null ? "null" : `"${offset}"`},"data":${data}}`;
}

/**
 * The `msg` frame of a binary publish on an ephemeral topic: the frames of this protocol are
 * JSON text, so the bytes go as base64 with `"encoding":"base64"` (`TopicClient` hands them
 * back as a `Uint8Array`).
 */
export function binaryMsgFrame(topic: string, bytes: Buffer): string {
  return `{"op":"msg","topic":${JSON.stringify(topic)},"offset":null,"encoding":"base64","data":"${bytes.toString("base64")}"}`;
}

/** The `subscribed` frame's text. */
export function subscribedFrame(topic: string, offset: Offset | null): string {
  return JSON.stringify({ op: "subscribed", topic, offset });
}

/** The `unrecoverable` frame's text. */
export function unrecoverableFrame(topic: string, from: Offset, reason: UnrecoverableReason): string {
  return JSON.stringify({ op: "unrecoverable", topic, from, reason });
}

/** The `error` frame's text. */
function errorFrame(code: string, message: string, id?: string, topic?: string): string {
  return JSON.stringify({ op: "error", ...(id !== undefined ? { id } : {}), ...(topic !== undefined ? { topic } : {}), code, message });
}

/** One message framed once for the subscribers it goes to in one pass (as publish does). */
let lastEntry: HistoryEntry | null = null;
let lastTopic = "";
let lastFrames: PublishFrames | null = null;
let lastCore: unknown = null;
let lastLength = 0;

/** Delivers a subscription's messages and signals to one WebSocket. */
export class WebSocketSink implements TopicSink {
  constructor(
    private readonly ws: ServerWebSocket<any>,
    private readonly options: TopicsOptions<any>,
  ) {}

  get closed(): boolean {
    return this.ws.transport.closed;
  }

  writable(): boolean {
    return this.ws.transport.bufferedAmount <= this.ws.core.options.maxBackpressure;
  }

  waitWritable(): Promise<void> {
    // The socket's drain, or a recheck after 100 ms (bytes still waiting for compression
    // may not end in a drain event).
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 100);
      void this.ws.waitDrain().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  lagging(): boolean {
    if (this.ws.core.options.backpressurePolicy === "close") {
      this.ws.overLimit();
      return false;
    }
    return true;
  }

  message(topic: string, offset: Offset, entry: HistoryEntry): void {
    const ws = this.ws;
    if (ws.topicsV1 || this.options.format === undefined) {
      if (lastEntry !== entry || lastTopic !== topic || lastCore !== ws.core || lastFrames === null) {
        lastEntry = entry;
        lastTopic = topic;
        lastCore = ws.core;
        const bytes = Buffer.from(msgFrame(topic, offset, entry.data));
        lastLength = bytes.length;
        lastFrames = new PublishFrames(bytes, false, ws.core.publishDeflate);
      }
      // The same frame bytes for every subscriber (compressed once per window size).
      const frame = ws.publishWindowBits === 0 ? lastFrames.plainFrame() : lastFrames.compressedFrame(ws.publishWindowBits);
      if (ws.transport.sendRaw(frame)) ws.countOut(lastLength);
    } else {
      const format = this.options.format;
      this.guard(() => this.send(format(topic, offset, entry.data)));
    }
  }

  /**
   * Queues a frame past the backpressure check: durable delivery never drops a message (it
   * stops at the limit and catches up from the history; a replay page may go over by one page).
   */
  private send(data: Buffer | string): void {
    const ws = this.ws;
    if (ws.transport.send(data, false, true)) ws.countOut(typeof data === "string" ? Buffer.byteLength(data) : data.length);
  }

  unrecoverable(topic: string, from: Offset, reason: UnrecoverableReason): void {
    const hook = this.options.unrecoverable;
    if (!this.ws.topicsV1 && hook !== undefined) return this.guard(() => hook(this.ws, { topic, from, reason }));
    this.send(unrecoverableFrame(topic, from, reason));
  }

  subscribed(topic: string, offset: Offset | null): void {
    const hook = this.options.subscribed;
    if (!this.ws.topicsV1 && hook !== undefined) return this.guard(() => hook(this.ws, topic, offset));
    this.send(subscribedFrame(topic, offset));
  }

  /** A hook's throw closes this connection with 1011 (the one boundary for user code). */
  private guard(f: () => void): void {
    try {
      f();
    } catch (error) {
      this.ws.transport.handlerFailed(error);
    }
  }
}

/** A parsed client frame. */
interface ClientOp {
  op?: unknown;
  topic?: unknown;
  from?: unknown;
  last?: unknown;
  data?: unknown;
  id?: unknown;
}

/** Handles the wsx.topics.v1 frames of connections that negotiated it. */
export class TopicsProtocol {
  constructor(
    private readonly durable: DurableTopics,
    private readonly options: TopicsOptions<any>,
    /** Publishes an ephemeral message given as JSON text (the server's encode-once path). */
    private readonly publishEphemeral: (topic: string, json: string) => void,
  ) {}

  /** One frame from a wsx.topics.v1 connection. */
  frame(ws: ServerWebSocket<any>, data: Buffer, isBinary: boolean): void {
    if (isBinary) return void ws.send(errorFrame("bad-request", "wsx.topics.v1 frames are JSON text"));
    let op: ClientOp;
    try {
      op = JSON.parse(data.toString()) as ClientOp;
    } catch {
      return void ws.send(errorFrame("bad-request", "invalid JSON"));
    }
    if (op === null || typeof op !== "object" || Array.isArray(op)) return void ws.send(errorFrame("bad-request", "frames are JSON objects"));
    const id = typeof op.id === "string" && op.id.length <= 128 ? op.id : undefined;
    const topic = op.topic;
    if (typeof topic !== "string" || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
      return void ws.send(errorFrame("bad-request", `topic must be a string of 1-${MAX_TOPIC_LENGTH} characters`, id));
    }
    switch (op.op) {
      case "sub": {
        let from: OffsetParts | null = null;
        if (op.from !== undefined && op.from !== null) {
          from = parseOffset(op.from);
          if (from === null) return void ws.send(errorFrame("bad-request", 'from must be an offset "<epoch>-<seq>"', id, topic));
        }
        const last = op.last === undefined ? 0 : op.last;
        if (typeof last !== "number" || !Number.isSafeInteger(last) || last < 0) return void ws.send(errorFrame("bad-request", "last must be a non-negative integer", id, topic));
        return this.authorized(ws, "sub", topic, id, () => this.subscribe(ws, topic, from, last, id));
      }
      case "unsub":
        // After any operation still waiting on `authorize` (a sub then unsub stays unsubscribed).
        return this.inOrder(ws, () => void ws.unsubscribe(topic));
      case "pub": {
        if (!("data" in op)) return void ws.send(errorFrame("bad-request", "pub needs data", id, topic));
        const json = JSON.stringify(op.data);
        return this.authorized(ws, "pub", topic, id, () => this.publish(ws, topic, json, id));
      }
      default:
        return void ws.send(errorFrame("bad-request", 'op must be "sub", "unsub" or "pub"', id, topic));
    }
  }

  private subscribe(ws: ServerWebSocket<any>, topic: string, from: OffsetParts | null, last: number, id: string | undefined): void {
    if (ws.transport.closed) return;
    if (this.durable.isDurable(topic)) {
      if (ws.isSubscribed(topic)) ws.unsubscribe(topic);
      if (!ws.subscribeDurable(topic, from, last)) ws.send(errorFrame("bad-request", "too many subscriptions", id, topic));
      return;
    }
    if (!ws.isSubscribed(topic) && ws.topics.length >= this.durable.limits.maxSubscriptions) return void ws.send(errorFrame("bad-request", "too many subscriptions", id, topic));
    ws.subscribe(topic);
    ws.send(subscribedFrame(topic, null));
  }

  private publish(ws: ServerWebSocket<any>, topic: string, json: string, id: string | undefined): void {
    if (!this.durable.isDurable(topic)) {
      this.publishEphemeral(topic, json);
      if (id !== undefined) ws.send(JSON.stringify({ op: "ack", id, offset: null }));
      return;
    }
    this.durable.publishJson(topic, json).then(
      (offset) => {
        if (id !== undefined && !ws.transport.closed) ws.send(JSON.stringify({ op: "ack", id, offset }));
      },
      (error: unknown) => {
        this.durable.onError(error);
        if (!ws.transport.closed) ws.send(errorFrame("unavailable", `not stored: ${(error as Error).message}`, id, topic));
      },
    );
  }

  /**
   * Runs `then` if `authorize` allows `action` on `topic`, else answers "forbidden". An
   * asynchronous decision holds the connection's later operations behind it (order kept).
   */
  private authorized(ws: ServerWebSocket<any>, action: "sub" | "pub", topic: string, id: string | undefined, then: () => void): void {
    const run = (): void | Promise<void> => {
      const hook = this.options.authorize;
      const deny = (): void => void ws.send(errorFrame("forbidden", `${action} not allowed on this topic`, id, topic));
      if (hook === undefined) return action === "sub" ? then() : deny();
      let decision: boolean | Promise<boolean>;
      try {
        decision = hook(ws, action, topic);
      } catch {
        return deny();
      }
      if (typeof decision === "boolean") return decision ? then() : deny();
      return Promise.resolve(decision).then(
        (ok) => (ok === true ? then() : deny()),
        () => deny(),
      );
    };
    this.inOrder(ws, run);
  }

  /** Runs `op` now, or after the operations of this connection still waiting on `authorize`. */
  private inOrder(ws: ServerWebSocket<any>, op: () => void | Promise<void>): void {
    if (ws.topicOps === null) {
      const r = op();
      if (r !== undefined) this.chain(ws, r);
      return;
    }
    if (ws.topicOpsPending >= MAX_PENDING_OPS) return ws.close(CloseCode.PolicyViolation, "too many pending topic operations");
    ws.topicOpsPending++;
    this.chain(ws, ws.topicOps.then(() => {
      ws.topicOpsPending--;
      return op();
    }));
  }

  private chain(ws: ServerWebSocket<any>, p: Promise<void>): void {
    const next = p.then(
      () => {
        if (ws.topicOps === next) ws.topicOps = null;
      },
      (error: unknown) => {
        if (ws.topicOps === next) ws.topicOps = null;
        ws.transport.handlerFailed(error);
      },
    );
    ws.topicOps = next;
  }
}

export type { Subscription };
