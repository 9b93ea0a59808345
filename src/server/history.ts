/**
 * The history of durable topics, behind one interface: {@link MemoryHistory} in one process,
 * `RedisHistory` (wsx/redis, Redis Streams) across processes. A store appends messages with
 * consecutive sequence numbers per topic, reads them back, and feeds the entries of watched
 * topics to the server in order, each once (the server dedupes and detects gaps by `seq`).
 */

/** One stored message. */
export interface HistoryEntry {
  /** Its number within the topic's epoch (consecutive from 1). */
  readonly seq: number;
  /** The message as JSON text. */
  readonly data: string;
  /** When it was appended, ms since the Unix epoch (used by age limits). */
  readonly time: number;
}

/** What {@link HistoryStore.read} returns. */
export interface HistoryRead {
  /** The topic's current epoch. */
  readonly epoch: string;
  /** Entries with `seq` past the requested position, in order, at most the requested limit. */
  readonly entries: readonly HistoryEntry[];
  /** The oldest seq still kept (`last + 1` when none is kept). */
  readonly first: number;
  /** The latest seq appended in this epoch (0 when none). */
  readonly last: number;
}

/** Where a read starts. */
export type ReadPosition = { readonly after: number } | { readonly lastN: number };

/** Receives the live entries of watched topics. */
export interface HistoryFeed {
  /** A new entry of a watched topic; per topic, in seq order. */
  entry(topic: string, epoch: string, entry: HistoryEntry): void;
  /**
   * The store's view of `topic` restarted: its epoch changed (the history was lost) or its
   * reader was away (`unavailable`). The server checks each subscriber against `epoch`/`last`.
   */
  reset(topic: string, epoch: string | null, last: number): void;
}

/** A history store for durable topics (see docs/TOPICS.md, "History stores"). */
export interface HistoryStore {
  /** Called once by the server it is given to. */
  attach(feed: HistoryFeed): void;
  /**
   * Starts feeding `topic`'s entries; resolves once every entry appended from then on will
   * reach the feed (the server reads the history after this resolves).
   */
  watch(topic: string): Promise<void>;
  /** Stops feeding `topic`. */
  unwatch(topic: string): void;
  /** Appends a message (JSON text); resolves with its epoch and seq. */
  append(topic: string, data: string): Promise<{ epoch: string; seq: number }>;
  /** Reads up to `limit` entries from `position` in the current epoch. */
  read(topic: string, position: ReadPosition, limit: number): Promise<HistoryRead>;
  /** Releases what the store holds (connections, timers). */
  close(): Promise<void>;
}

/** A typed failure of a history store: the backing service cannot be reached. */
export class HistoryUnavailableError extends Error {
  /** "unavailable", as sent to clients. */
  readonly code = "unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HistoryUnavailableError";
  }
}
