/**
 * Durable topics of one server: subscriptions that resume from an offset. A subscriber is
 * registered on its topic's live feed first, then replays the history from its position,
 * holding live entries that arrive meanwhile in a bounded buffer; once caught up it flushes
 * the buffer (dropping what it already had, by seq) and goes live. A subscriber that cannot
 * take more (backpressure) is switched back to replay and catches up from the history when
 * it drains, so no buffer grows with a slow reader. Where the history cannot reach its
 * position, the subscriber gets an `unrecoverable` signal and continues live.
 */
import type { HistoryEntry, HistoryFeed, HistoryRead, HistoryStore, ReadPosition } from "./history.js";
import { MemoryHistory } from "./memory-history.js";
import { formatOffset, parseOffset, type Offset, type OffsetParts } from "./offset.js";
import { durablePredicate, type TopicsOptions, type UnrecoverableReason } from "./topics-options.js";

/** Where a subscription's messages and signals go (a WebSocket or an SSE response). */
export interface TopicSink {
  /** Whether more may be queued now. */
  writable(): boolean;
  /** Resolves when more may be queued, or when the sink is closed. */
  waitWritable(): Promise<void>;
  /** The sink is gone; its subscriptions end. */
  readonly closed: boolean;
  /** Over the limit during live delivery: true to catch up from history later, false if the sink handled it (closed). */
  lagging(): boolean;
  message(topic: string, offset: Offset, entry: HistoryEntry): void;
  unrecoverable(topic: string, from: Offset, reason: UnrecoverableReason): void;
  subscribed(topic: string, offset: Offset | null): void;
}

/** One sink's subscription to one durable topic. */
export class Subscription {
  state: "replaying" | "live" | "ended" = "replaying";
  /** The epoch and seq of the last message delivered (or of the position started from). */
  epoch: string | null = null;
  lastSeq = 0;
  /** Live entries that arrived during replay; null after an overflow (the replay re-reads). */
  buffer: Array<[epoch: string, entry: HistoryEntry]> | null = [];
  constructor(
    readonly topic: string,
    readonly sink: TopicSink,
    readonly from: OffsetParts | null,
    readonly lastN: number,
  ) {}

  /** The position as an offset, or null when none is known. */
  offset(): Offset | null {
    return this.epoch === null || this.lastSeq === 0 ? null : formatOffset(this.epoch, this.lastSeq);
  }
}

/** One topic's local subscribers and its watch on the store. */
interface Feed {
  readonly subs: Set<Subscription>;
  ready: Promise<void>;
}

/** Resolved limits of durable topics. */
interface Limits {
  replayBatch: number;
  maxReplayBuffer: number;
  maxLast: number;
  maxSubscriptions: number;
}

/** The durable-topic engine of one server (transport-agnostic: sinks do the I/O). */
export class DurableTopics implements HistoryFeed {
  readonly history: HistoryStore;
  readonly isDurable: (topic: string) => boolean;
  readonly limits: Limits;
  private readonly feeds = new Map<string, Feed>();
  /** Errors of the store (reads, watches) for the server's `error` reporting. */
  onError: (error: unknown) => void = () => {};
  /** Messages appended to the history through this node. */
  appended = 0;
  /** Messages queued to subscribers (replayed and live). */
  delivered = 0;
  /** `unrecoverable` signals given to subscribers. */
  unrecoverableSignals = 0;

  constructor(readonly options: TopicsOptions<any>) {
    this.history = options.history ?? new MemoryHistory();
    this.isDurable = durablePredicate(options.durable);
    this.limits = {
      replayBatch: options.replayBatch ?? 500,
      maxReplayBuffer: options.maxReplayBuffer ?? 1000,
      maxLast: options.maxLast ?? 1000,
      maxSubscriptions: options.maxSubscriptions ?? 1000,
    };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`option topics.${k} must be a positive integer`);
    }
    this.history.attach(this);
  }

  /** Number of subscriptions to `topic` on this node. */
  count(topic: string): number {
    return this.feeds.get(topic)?.subs.size ?? 0;
  }

  /** Subscriptions on this node, all topics (WebSockets and SSE streams). */
  subscriptions(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.subs.size;
    return n;
  }

  /** Appends a message (any JSON value) to `topic`'s history; resolves with its offset. */
  async publish(topic: string, data: unknown): Promise<Offset> {
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError("durable messages must be JSON values");
    return this.publishJson(topic, json);
  }

  /** Appends a message given as JSON text (not checked). */
  async publishJson(topic: string, json: string): Promise<Offset> {
    const { epoch, seq } = await this.history.append(topic, json);
    this.appended++;
    return formatOffset(epoch, seq);
  }

  /**
   * Subscribes `sink` to `topic` from `from` (the last offset it has), or with the `lastN`
   * latest messages, or live only. Replay runs asynchronously; `subscribed` marks its end.
   */
  subscribe(topic: string, sink: TopicSink, from: OffsetParts | null, lastN: number): Subscription {
    let feed = this.feeds.get(topic);
    if (feed === undefined) {
      const created: Feed = { subs: new Set(), ready: this.history.watch(topic) };
      // A failed watch fails the subscriptions waiting on it ("unavailable"); later ones try
      // to read again (the store keeps the watch and resumes it when it can).
      created.ready.catch(() => (created.ready = Promise.resolve()));
      feed = created;
      this.feeds.set(topic, feed);
    }
    const sub = new Subscription(topic, sink, from, Math.min(Math.max(0, lastN), this.limits.maxLast));
    feed.subs.add(sub);
    void this.replay(sub, feed, true);
    return sub;
  }

  /** Ends a subscription. */
  unsubscribe(sub: Subscription): void {
    if (sub.state === "ended") return;
    sub.state = "ended";
    sub.buffer = null;
    const feed = this.feeds.get(sub.topic);
    if (feed === undefined || !feed.subs.delete(sub)) return;
    if (feed.subs.size === 0) {
      this.feeds.delete(sub.topic);
      this.history.unwatch(sub.topic);
    }
  }

  /** Releases the store. */
  close(): Promise<void> {
    for (const feed of this.feeds.values()) for (const sub of feed.subs) sub.state = "ended";
    this.feeds.clear();
    return this.history.close();
  }

  // ---- HistoryFeed ----------------------------------------------------------------------

  /** @internal a live entry of a watched topic */
  entry(topic: string, epoch: string, entry: HistoryEntry): void {
    const feed = this.feeds.get(topic);
    if (feed === undefined) return;
    for (const sub of feed.subs) {
      if (sub.state === "replaying") {
        const buffer = sub.buffer;
        if (buffer === null) continue;
        // Bounded: past the limit, drop the buffer; the replay reads those from the history.
        if (buffer.length >= this.limits.maxReplayBuffer) sub.buffer = null;
        else buffer.push([epoch, entry]);
      } else if (sub.state === "live") {
        if (!sub.sink.writable()) {
          // A slow reader: stop pushing; catch up from the history once it drains.
          if (!sub.sink.lagging()) continue;
          sub.state = "replaying";
          sub.buffer = [[epoch, entry]];
          void this.replay(sub, feed, false);
          continue;
        }
        this.deliver(sub, epoch, entry);
      }
    }
  }

  /** @internal the store's view of a topic restarted: check every live subscriber against it */
  reset(topic: string, epoch: string | null, last: number): void {
    const feed = this.feeds.get(topic);
    if (feed === undefined) return;
    for (const sub of feed.subs) {
      if (sub.state !== "live" || sub.epoch === null) continue;
      const from = sub.offset();
      if (epoch === null) {
        if (from !== null) this.unrecoverable(sub.sink, topic, from, "unavailable");
      } else if (epoch !== sub.epoch || last < sub.lastSeq) {
        if (from !== null) this.unrecoverable(sub.sink, topic, from, "epoch");
        sub.epoch = epoch;
        sub.lastSeq = last;
        sub.sink.subscribed(topic, sub.offset());
      }
    }
  }

  // ---- delivery -------------------------------------------------------------------------

  /** Delivers one entry to a subscriber in order: drops duplicates, signals gaps and epoch changes. */
  private deliver(sub: Subscription, epoch: string, entry: HistoryEntry): void {
    const sink = sub.sink;
    if (sub.epoch !== epoch) {
      const from = sub.offset();
      sub.epoch = epoch;
      sub.lastSeq = entry.seq - 1;
      if (from !== null) {
        this.unrecoverable(sink, sub.topic, from, "epoch");
        sink.subscribed(sub.topic, sub.offset());
      }
    } else if (entry.seq <= sub.lastSeq) {
      return;
    } else if (entry.seq > sub.lastSeq + 1) {
      const from = sub.offset();
      sub.lastSeq = entry.seq - 1;
      if (from !== null) {
        this.unrecoverable(sink, sub.topic, from, "truncated");
        sink.subscribed(sub.topic, sub.offset());
      }
    }
    sub.lastSeq = entry.seq;
    this.delivered++;
    sink.message(sub.topic, formatOffset(epoch, entry.seq), entry);
  }

  /** Tells `sink` that messages after `from` cannot be replayed, and counts it. */
  private unrecoverable(sink: TopicSink, topic: string, from: Offset, reason: UnrecoverableReason): void {
    this.unrecoverableSignals++;
    sink.unrecoverable(topic, from, reason);
  }

  /**
   * Replays `sub` from its position until caught up, then flushes what arrived meanwhile and
   * goes live. `initial`: the first replay of a subscription (sends `subscribed` at the end).
   */
  private async replay(sub: Subscription, feed: Feed, initial: boolean): Promise<void> {
    const { sink, topic } = sub;
    const batch = this.limits.replayBatch;
    try {
      await feed.ready;
      let first = initial;
      // Each pass reads one page; it ends when a page comes back short (caught up). The
      // history is bounded, so the number of pages is too.
      for (;;) {
        if (sub.state !== "replaying" || sink.closed) return;
        if (!sink.writable()) {
          await sink.waitWritable();
          continue;
        }
        let position: ReadPosition;
        if (first && sub.from !== null) position = { after: sub.from.seq };
        else if (first) position = { lastN: sub.lastN };
        else position = { after: sub.lastSeq };
        const read: HistoryRead = await this.history.read(topic, position, batch);
        if (sub.state !== "replaying" || sink.closed) return;
        let entries = read.entries;
        if (first) {
          first = false;
          const start = this.start(sub, read);
          if (start === "restart") continue; // the new lineage, from its oldest kept entry
          if (start === "skip") entries = [];
        } else if (read.epoch !== sub.epoch) {
          // The history restarted while we were reading: tell, and continue from the new epoch.
          const from = sub.offset();
          if (from !== null) this.unrecoverable(sink, topic, from, "epoch");
          sub.epoch = read.epoch;
          sub.lastSeq = Math.max(0, read.first - 1);
          continue;
        }
        for (const entry of entries) this.deliver(sub, read.epoch, entry);
        if (entries.length >= batch) continue;
        if (sub.buffer === null) {
          // The buffer overflowed during this pass: what it dropped is in the history.
          sub.buffer = [];
          continue;
        }
        this.goLive(sub, initial);
        return;
      }
    } catch (error) {
      if (sub.state !== "replaying" || sink.closed) return;
      this.onError(error);
      // The store cannot be read: say so, and continue live with whatever arrives.
      const from = sub.from !== null && sub.epoch === null ? formatOffset(sub.from.epoch, sub.from.seq) : sub.offset();
      if (from !== null) this.unrecoverable(sink, topic, from, "unavailable");
      this.goLive(sub, true);
    }
  }

  /**
   * Sets the starting position from the first read, signalling what cannot be replayed.
   * "replay": deliver the read's entries; "skip": replay nothing; "restart": read again from
   * `lastSeq` (set here).
   */
  private start(sub: Subscription, read: HistoryRead): "replay" | "skip" | "restart" {
    const { sink, topic, from } = sub;
    sub.epoch = read.epoch;
    if (from === null) {
      sub.lastSeq = read.entries.length > 0 ? read.entries[0].seq - 1 : read.last;
      return "replay";
    }
    const fromOffset = formatOffset(from.epoch, from.seq);
    if (from.epoch !== read.epoch) {
      // Another lineage (the history was lost and began again): say so, then replay what the
      // new lineage kept from its start, as for a truncated history, since every message of
      // it came after the subscriber's last.
      this.unrecoverable(sink, topic, fromOffset, "epoch");
      sub.lastSeq = read.first - 1;
      return "restart";
    }
    if (from.seq > read.last) {
      // An offset this lineage never issued (its store went back in time): nothing to replay.
      this.unrecoverable(sink, topic, fromOffset, "epoch");
      sub.lastSeq = read.last;
      return "skip";
    }
    if (from.seq + 1 < read.first) {
      this.unrecoverable(sink, topic, fromOffset, "truncated");
      sub.lastSeq = read.first - 1;
    } else {
      sub.lastSeq = from.seq;
    }
    return "replay";
  }

  /** Flushes the replay buffer and switches to live delivery. */
  private goLive(sub: Subscription, announce: boolean): void {
    const buffer = sub.buffer ?? [];
    sub.buffer = null;
    sub.state = "live";
    for (const [epoch, entry] of buffer) {
      if (sub.epoch === null) {
        sub.epoch = epoch;
        sub.lastSeq = entry.seq - 1;
      }
      this.deliver(sub, epoch, entry);
    }
    if (announce) sub.sink.subscribed(sub.topic, sub.offset());
  }
}
