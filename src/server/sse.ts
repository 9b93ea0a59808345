/**
 * Durable topics as Server-Sent Events (WHATWG HTML §9.2): `GET <path>?topic=A&topic=B` with
 * `Accept: text/event-stream`. Each message is an event whose `id` is the stream's position
 * (one topic: its offset; several: the offsets joined by "." in the order of the `topic`
 * parameters, "_" for a topic without one), so a browser's EventSource that reconnects sends
 * it back as `Last-Event-ID` and the stream resumes there. Comment heartbeats keep proxies
 * from cutting idle streams; a reader that lets `maxBuffered` bytes pile up is dropped with
 * an `overflow` event and the end of the response.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DurableTopics, Subscription, TopicSink } from "./durable-topics.js";
import type { HistoryEntry } from "./history.js";
import { parseOffset, type Offset, type OffsetParts } from "./offset.js";
import { MAX_TOPIC_LENGTH } from "./topics-protocol.js";
import type { SseOptions, TopicsOptions, UnrecoverableReason } from "./topics-options.js";

/** SSE limits with their defaults applied. */
interface SseLimits {
  path: string;
  heartbeatMs: number;
  retryMs: number;
  maxBuffered: number;
  maxTopics: number;
  maxStreams: number;
}

/** The position token of a stream over `positions` (see the module comment). */
export function encodeEventId(positions: ReadonlyArray<Offset | null>): string {
  if (positions.length === 1) return positions[0] ?? "";
  return positions.map((p) => p ?? "_").join(".");
}

/** Parses a `Last-Event-ID` for `count` topics; null when malformed. */
export function decodeEventId(id: string, count: number): Array<OffsetParts | null> | null {
  const parts = count === 1 ? [id === "" ? "_" : id] : id.split(".");
  if (parts.length !== count) return null;
  const out: Array<OffsetParts | null> = [];
  for (const p of parts) {
    if (p === "_") {
      out.push(null);
      continue;
    }
    const o = parseOffset(p);
    if (o === null) return null;
    out.push(o);
  }
  return out;
}

/** One open event stream. */
class SseStream implements TopicSink {
  closed = false;
  readonly subs: Subscription[] = [];
  readonly positions: Array<Offset | null>;
  constructor(
    readonly res: ServerResponse,
    readonly topics: string[],
    private readonly limits: SseLimits,
    from: Array<OffsetParts | null>,
  ) {
    this.positions = from.map((o) => (o === null ? null : `${o.epoch}-${o.seq}`));
  }

  writable(): boolean {
    return !this.closed && buffered(this.res) <= this.limits.maxBuffered;
  }

  waitWritable(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.removeListener("drain", done);
        this.res.removeListener("close", done);
        resolve();
      };
      this.res.once("drain", done);
      this.res.once("close", done);
    });
  }

  lagging(): boolean {
    // Slow readers are dropped with a clear end (like maxBackpressure's "close").
    this.end("overflow", { reason: "the reader fell more than maxBuffered bytes behind" });
    return false;
  }

  message(topic: string, offset: Offset, entry: HistoryEntry): void {
    this.positions[this.topics.indexOf(topic)] = offset;
    this.write(`id: ${encodeEventId(this.positions)}\nevent: message\ndata: {"topic":${JSON.stringify(topic)},"offset":"${offset}","data":${entry.data}}\n\n`);
  }

  unrecoverable(topic: string, from: Offset, reason: UnrecoverableReason): void {
    this.write(`event: unrecoverable\ndata: ${JSON.stringify({ topic, from, reason })}\n\n`);
  }

  subscribed(topic: string, offset: Offset | null): void {
    const i = this.topics.indexOf(topic);
    if (offset !== null) this.positions[i] = offset;
    this.write(`id: ${encodeEventId(this.positions)}\nevent: subscribed\ndata: ${JSON.stringify({ topic, offset })}\n\n`);
  }

  write(text: string): void {
    if (!this.closed) this.res.write(text);
  }

  /** Sends a last event and ends the response. */
  end(event: string, data: unknown): void {
    if (this.closed) return;
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    this.closed = true;
    this.res.end();
  }
}

/** The SSE endpoint of one server. */
export class SseEndpoint {
  private readonly limits: SseLimits;
  private readonly streams = new Set<SseStream>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly durable: DurableTopics,
    options: SseOptions,
    private readonly topicsOptions: TopicsOptions<any>,
  ) {
    this.limits = {
      path: options.path,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      retryMs: options.retryMs ?? 2000,
      maxBuffered: options.maxBuffered ?? 1024 * 1024,
      maxTopics: options.maxTopics ?? 16,
      maxStreams: options.maxStreams ?? 10_000,
    };
    if (typeof options.path !== "string" || !options.path.startsWith("/")) throw new TypeError('option topics.sse.path must start with "/"');
  }

  /** Number of open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Handles `req` if it is for the SSE path; false otherwise. A throw of user code (`durable`) answers 500. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    try {
      return this.route(req, res);
    } catch (error) {
      this.durable.onError(error);
      return fail(res, 500, "internal error");
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): boolean {
    // Split by hand: `new URL` throws on some request targets a peer may send ("//[").
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    if ((q === -1 ? target : target.slice(0, q)) !== this.limits.path) return false;
    if (req.method !== "GET") return fail(res, 405, "use GET", { Allow: "GET" });
    const topics = new URLSearchParams(q === -1 ? "" : target.slice(q + 1)).getAll("topic");
    if (topics.length === 0 || topics.length > this.limits.maxTopics) return fail(res, 400, `name 1-${this.limits.maxTopics} topics (?topic=…)`);
    for (const topic of topics) {
      if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) return fail(res, 400, `topics are 1-${MAX_TOPIC_LENGTH} characters`);
      if (!this.durable.isDurable(topic)) return fail(res, 400, `"${topic}" is not a durable topic`);
    }
    if (new Set(topics).size !== topics.length) return fail(res, 400, "a topic is named twice");
    const lastId = req.headers["last-event-id"];
    const from = typeof lastId === "string" && lastId !== "" ? decodeEventId(lastId, topics.length) : topics.map(() => null);
    if (from === null) return fail(res, 400, "malformed Last-Event-ID");
    if (this.streams.size >= this.limits.maxStreams) return fail(res, 503, "too many event streams", { "Retry-After": "5" });
    void this.authorize(req, topics).then(
      (ok) => {
        if (!ok) return void fail(res, 403, "not allowed");
        this.open(req, res, topics, from);
      },
      () => void fail(res, 403, "not allowed"),
    );
    return true;
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const s of this.streams) s.end("close", { reason: "server shutting down" });
    this.streams.clear();
    this.stopHeartbeat();
  }

  private async authorize(req: IncomingMessage, topics: string[]): Promise<boolean> {
    const hook = this.topicsOptions.authorize;
    if (hook === undefined) return true;
    for (const topic of topics) if ((await hook(req, "sub", topic)) !== true) return false;
    return true;
  }

  private open(req: IncomingMessage, res: ServerResponse, topics: string[], from: Array<OffsetParts | null>): void {
    if (req.destroyed || res.destroyed) return;
    if (this.streams.size >= this.limits.maxStreams) return void fail(res, 503, "too many event streams", { "Retry-After": "5" });
    const h2 = req.httpVersionMajor >= 2;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      // RFC 9113 §8.2.2: no connection-specific header fields in HTTP/2.
      ...(h2 ? {} : { Connection: "keep-alive" }),
      // Nginx and similar proxies must not buffer the stream.
      "X-Accel-Buffering": "no",
    });
    if (!h2) res.socket?.setNoDelay(true);
    res.write(`retry: ${this.limits.retryMs}\n\n`);
    const stream = new SseStream(res, topics, this.limits, from);
    this.streams.add(stream);
    this.startHeartbeat();
    const done = (): void => {
      stream.closed = true;
      if (!this.streams.delete(stream)) return;
      for (const sub of stream.subs) this.durable.unsubscribe(sub);
      if (this.streams.size === 0) this.stopHeartbeat();
    };
    res.on("close", done);
    res.on("error", done);
    topics.forEach((topic, i) => stream.subs.push(this.durable.subscribe(topic, stream, from[i], 0)));
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null || this.limits.heartbeatMs <= 0) return;
    // One timer for every stream: a comment line keeps idle connections alive through proxies.
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) if (s.writable()) s.write(": ping\n\n");
    }, this.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/**
 * Bytes written to `res` and not yet handed to the socket: an HTTP/1.1 response's own
 * count, or (HTTP/2 compatibility API) its stream's.
 */
function buffered(res: ServerResponse): number {
  const r = res as ServerResponse & { stream?: { writableLength?: number } };
  return r.writableLength ?? r.stream?.writableLength ?? 0;
}

/** Answers a refused SSE request; returns true (handled). */
function fail(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): true {
  if (res.headersSent) {
    res.end();
    return true;
  }
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers });
  res.end(message + "\n");
  return true;
}
