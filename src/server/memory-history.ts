/**
 * Durable-topic history in this process's memory: per topic a ring of the latest `maxCount`
 * entries, younger than `maxAgeMs`, for at most `maxTopics` topics. Appends reach the feed
 * synchronously, in order.
 */
import type { HistoryEntry, HistoryFeed, HistoryRead, HistoryStore, ReadPosition } from "./history.js";
import { newEpoch } from "./offset.js";

/** Options of {@link MemoryHistory}. */
export interface MemoryHistoryOptions {
  /** Most messages kept per topic. Default 1000. */
  maxCount?: number;
  /** Messages older than this (ms) are dropped; 0 keeps them regardless of age. Default 0. */
  maxAgeMs?: number;
  /** Most topics with a history; past it the topic created first loses its history. Default 10000. */
  maxTopics?: number;
}

/** One topic's ring. */
class Ring {
  constructor(readonly epoch: string) {}
  readonly entries: HistoryEntry[] = [];
  /** Index of the oldest entry in `entries` (entries before it are dropped lazily). */
  head = 0;
  last = 0;
}

/**
 * A {@link HistoryStore} in memory. Its epoch is random per instance: a restarted process
 * has a new epoch, so clients holding older offsets are told they cannot recover. A topic
 * whose history was dropped for `maxTopics` and that starts again gets an epoch of its own
 * (`epoch` + "x" + a counter), so its new seqs are never mistaken for old ones.
 *
 * Memory held: at most `maxTopics × maxCount` messages.
 */
export class MemoryHistory implements HistoryStore {
  /** This instance's epoch. */
  readonly epoch = newEpoch();
  private readonly maxCount: number;
  private readonly maxAgeMs: number;
  private readonly maxTopics: number;
  private readonly topics = new Map<string, Ring>();
  private readonly watched = new Set<string>();
  private feed: HistoryFeed | null = null;
  /** Topics dropped for maxTopics so far. */
  private evictions = 0;
  /** Clock, replaceable in tests. */
  now: () => number = Date.now;

  constructor(options: MemoryHistoryOptions = {}) {
    this.maxCount = options.maxCount ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 0;
    this.maxTopics = options.maxTopics ?? 10_000;
    for (const [k, v] of [["maxCount", this.maxCount], ["maxAgeMs", this.maxAgeMs], ["maxTopics", this.maxTopics]] as const) {
      if (!Number.isSafeInteger(v) || v < 0 || (k !== "maxAgeMs" && v < 1)) throw new RangeError(`MemoryHistory: ${k} must be a ${k === "maxAgeMs" ? "non-negative" : "positive"} integer`);
    }
  }

  /** @internal HistoryStore */
  attach(feed: HistoryFeed): void {
    this.feed = feed;
  }

  /** @internal HistoryStore */
  watch(topic: string): Promise<void> {
    this.watched.add(topic);
    return Promise.resolve();
  }

  /** @internal HistoryStore */
  unwatch(topic: string): void {
    this.watched.delete(topic);
  }

  /** Appends synchronously (the promise is already settled); the feed hears it before this returns. */
  append(topic: string, data: string): Promise<{ epoch: string; seq: number }> {
    return Promise.resolve(this.appendNow(topic, data));
  }

  /** @internal the synchronous append behind {@link append} */
  appendNow(topic: string, data: string): { epoch: string; seq: number } {
    let ring = this.topics.get(topic);
    if (ring === undefined) {
      if (this.topics.size >= this.maxTopics) {
        const oldest = this.topics.keys().next().value as string;
        this.topics.delete(oldest);
        this.evictions++;
      }
      ring = new Ring(this.currentEpoch());
      this.topics.set(topic, ring);
    }
    const entry: HistoryEntry = { seq: ++ring.last, data, time: this.now() };
    ring.entries.push(entry);
    this.trim(ring);
    if (this.watched.has(topic)) this.feed?.entry(topic, ring.epoch, entry);
    return { epoch: ring.epoch, seq: entry.seq };
  }

  /** @internal HistoryStore */
  read(topic: string, position: ReadPosition, limit: number): Promise<HistoryRead> {
    return Promise.resolve(this.readNow(topic, position, limit));
  }

  /** @internal the synchronous read behind {@link read} */
  readNow(topic: string, position: ReadPosition, limit: number): HistoryRead {
    const ring = this.topics.get(topic);
    if (ring === undefined) return { epoch: this.currentEpoch(), entries: [], first: 1, last: 0 };
    this.trim(ring);
    const kept = ring.entries.length - ring.head;
    const first = kept === 0 ? ring.last + 1 : ring.entries[ring.head].seq;
    const after = "after" in position ? position.after : Math.max(0, ring.last - position.lastN);
    // Entries are consecutive: the one with seq s is at head + (s - first).
    const start = ring.head + Math.max(0, after + 1 - first);
    const entries = ring.entries.slice(start, Math.min(ring.entries.length, start + limit));
    return { epoch: ring.epoch, entries, first, last: ring.last };
  }

  /** The epoch a topic starting now gets. */
  private currentEpoch(): string {
    return this.evictions === 0 ? this.epoch : `${this.epoch}x${this.evictions.toString(36)}`;
  }

  /** Number of messages kept for `topic` (after the age limit). */
  size(topic: string): number {
    const ring = this.topics.get(topic);
    if (ring === undefined) return 0;
    this.trim(ring);
    return ring.entries.length - ring.head;
  }

  /** @internal HistoryStore */
  close(): Promise<void> {
    this.topics.clear();
    this.watched.clear();
    return Promise.resolve();
  }

  /** Drops entries past the count and age limits; compacts the array when half of it is dropped. */
  private trim(ring: Ring): void {
    const e = ring.entries;
    let head = Math.max(ring.head, e.length - this.maxCount);
    if (this.maxAgeMs > 0) {
      const oldest = this.now() - this.maxAgeMs;
      while (head < e.length && e[head].time < oldest) head++;
    }
    if (head > 0 && head * 2 >= e.length) {
      e.splice(0, head);
      head = 0;
    }
    ring.head = head;
  }
}
