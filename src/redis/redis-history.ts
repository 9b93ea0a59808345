/**
 * Durable-topic history in Redis Streams, shared by every node: one stream per topic, entry
 * IDs `0-<seq>` so the seq is the offset, appended by a Lua script (atomic: seq, epoch,
 * trimming with MAXLEN ~ and an age limit, and a per-producer number that makes a retried
 * append after a lost reply a no-op). Live entries come from blocking XREAD on a dedicated
 * connection (a blocking command must not share the connection appends go through), one
 * XREAD for all watched topics, woken by CLIENT UNBLOCK when the set changes. When that
 * connection fails it retries with backoff and resumes from the last ID it saw: the server
 * then delivers what the history still covers, and signals `unrecoverable` for the rest.
 *
 * Appends made while Redis is unreachable wait in a bounded queue, in order, and are sent
 * when it is back (each exactly once, thanks to the producer numbers).
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { HistoryUnavailableError, type HistoryEntry, type HistoryFeed, type HistoryRead, type HistoryStore, type ReadPosition } from "../server/history.js";
import { newEpoch } from "../server/offset.js";
import { APPEND, BUMP_EPOCH, READ, scriptSha } from "./stream-scripts.js";

/** Options of {@link RedisHistory}. */
export interface RedisHistoryOptions {
  /** Redis URL, e.g. "redis://127.0.0.1:6379". */
  url?: string;
  /** Prefix of the keys: `<prefix>{<topic>}:s` (stream) and `:m` (meta). Default "wsx:h:". */
  keyPrefix?: string;
  /** Messages kept per topic (XADD MAXLEN ~: at least this many, trimmed in whole stream nodes). Default 1000. */
  maxCount?: number;
  /** Messages older than this are dropped (ms); 0 keeps them regardless of age. Default 0. */
  maxAgeMs?: number;
  /** A topic's keys expire after this long without an append (ms); 0 never. Default 0. */
  idleExpiryMs?: number;
  /** Appends waiting while Redis is unreachable; more are refused (HistoryUnavailableError). Default 10000. */
  maxPending?: number;
  /** Appends sent to Redis at once (pipelined). Default 256. */
  appendBatch?: number;
  /** Entries per XREAD call. Default 1000. */
  readCount?: number;
  /** XREAD BLOCK timeout, ms (a topic watched just then may wait this long for its first live entry). Default 1000. */
  blockMs?: number;
  /** Longest wait between reconnection attempts, ms. Default 2000. */
  maxReconnectDelay?: number;
}

interface Client {
  connect(): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  /** redis@4's name for destroy. */
  disconnect?(): Promise<void>;
  duplicate(): Client;
  on(event: string, f: (...args: any[]) => void): unknown;
  sendCommand(args: string[]): Promise<unknown>;
  readonly isReady: boolean;
}

type StreamEntries = Array<[string, string[]]>;
type StreamsReply = Array<[string, StreamEntries]> | Record<string, StreamEntries> | null | undefined;

interface PendingAppend {
  topic: string;
  data: string;
  number: number;
  resolve(v: { epoch: string; seq: number }): void;
  reject(e: Error): void;
}

interface Watch {
  /** The last entry ID read ("0-<seq>"). */
  cursor: string;
  epoch: string;
  /**
   * Whether every entry after the cursor belongs to `epoch` or a newer lineage (true after a
   * position taken from the meta hash; false while reading a new lineage from the stream's
   * start, where an older lineage's entries may come first).
   */
  current: boolean;
  /** An entry of another epoch stopped the reader: the next check decides. */
  mismatch?: boolean;
}

/** Counters of one {@link RedisHistory}. */
export interface RedisHistoryStats {
  /** Appends stored. */
  appended: number;
  /** Appends resent after a connection failure. */
  retried: number;
  /** Appends refused (queue full, closed). */
  refused: number;
  /** Entries read by the live reader. */
  read: number;
  /** Reader failures (each followed by a retry). */
  readerFailures: number;
}

/**
 * A {@link HistoryStore} in Redis Streams, through the official `redis` client (an optional
 * peer dependency). Events: `error` (Error), `ready`. Use one per server, as its
 * `topics.history`.
 *
 * ```ts
 * import { RedisHistory } from "wsx/redis";
 * const wss = new WebSocketServer({ port: 8080, topics: { durable: /^room:/, history: new RedisHistory({ url }) } });
 * ```
 */
export class RedisHistory extends EventEmitter implements HistoryStore {
  /** Counters. */
  readonly stats: RedisHistoryStats = { appended: 0, retried: 0, refused: 0, read: 0, readerFailures: 0 };
  /** This instance's producer id (dedupes retried appends). */
  readonly producer = randomBytes(8).toString("hex");
  private readonly options: Required<Omit<RedisHistoryOptions, "url">> & { url?: string };
  private feed: HistoryFeed | null = null;
  private cmd: Client | null = null;
  private reader: Client | null = null;
  private readonly started: Promise<void>;
  private closed = false;
  private nextNumber = 1;
  private readonly queue: PendingAppend[] = [];
  private sending = false;
  private readonly watches = new Map<string, Watch>();
  /** Topics the server watches (a watch whose first read is still running is here, not yet in `watches`). */
  private readonly wanted = new Set<string>();
  private readerId: string | null = null;
  private readerBlocked = false;
  private wake: (() => void) | null = null;
  /** After a reader failure: check every topic's epoch before reading on. */
  private recheck = false;
  private readonly shas = { append: scriptSha(APPEND), read: scriptSha(READ) };

  constructor(options: RedisHistoryOptions = {}) {
    super();
    this.options = {
      keyPrefix: "wsx:h:",
      maxCount: 1000,
      maxAgeMs: 0,
      idleExpiryMs: 0,
      maxPending: 10_000,
      appendBatch: 256,
      readCount: 1000,
      blockMs: 1000,
      maxReconnectDelay: 2000,
      ...options,
    };
    this.started = this.start();
    this.started.catch((err: Error) => this.report(err));
  }

  /** Resolves once both connections are up. */
  ready(): Promise<void> {
    return this.started;
  }

  private async start(): Promise<void> {
    let redis: typeof import("redis");
    try {
      redis = await import("redis");
    } catch (err) {
      throw new Error(`RedisHistory needs the "redis" package (an optional peer dependency): npm install redis (${(err as Error).message.split("\n")[0]})`);
    }
    const maxDelay = this.options.maxReconnectDelay;
    const socket = { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, maxDelay) };
    const cmd = redis.createClient({ url: this.options.url, socket, disableOfflineQueue: true }) as unknown as Client;
    const reader = cmd.duplicate();
    cmd.on("error", (err: Error) => this.report(err));
    reader.on("error", (err: Error) => this.report(err));
    cmd.on("ready", () => void this.pump());
    reader.on("ready", () => {
      // A new connection has a new client id, and the history may have changed meanwhile.
      this.readerId = null;
      this.recheck = true;
    });
    this.cmd = cmd;
    this.reader = reader;
    await Promise.all([cmd.connect(), reader.connect()]);
    if (this.closed) return;
    this.emit("ready");
    void this.readLoop();
    void this.pump();
  }

  private report(err: unknown): void {
    if (this.listenerCount("error") > 0) this.emit("error", err instanceof Error ? err : new Error(String(err)));
  }

  private stream(topic: string): string {
    return `${this.options.keyPrefix}{${topic}}:s`;
  }

  private meta(topic: string): string {
    return `${this.options.keyPrefix}{${topic}}:m`;
  }

  /** Runs a script by SHA, loading it (EVAL) when Redis does not know it. */
  private async script(client: Client, name: "append" | "read", keys: string[], args: string[]): Promise<unknown> {
    const sha = this.shas[name];
    try {
      return await client.sendCommand(["EVALSHA", sha, String(keys.length), ...keys, ...args]);
    } catch (err) {
      if (!String((err as Error).message).includes("NOSCRIPT")) throw err;
      return client.sendCommand(["EVAL", name === "append" ? APPEND : READ, String(keys.length), ...keys, ...args]);
    }
  }

  // ---- HistoryStore ---------------------------------------------------------------------

  /** @internal HistoryStore */
  attach(feed: HistoryFeed): void {
    this.feed = feed;
  }

  /** @internal HistoryStore: reads the topic's position, then adds it to the live reader. */
  async watch(topic: string): Promise<void> {
    this.wanted.add(topic);
    await this.started;
    let head: HistoryRead;
    try {
      head = await this.read(topic, { lastN: 0 }, 0);
    } catch (err) {
      // Redis is down: the reader finds the position when it is back (live from there).
      if (this.wanted.has(topic) && !this.watches.has(topic)) {
        this.watches.set(topic, { cursor: "", epoch: "", current: true });
        this.recheck = true;
        this.wakeReader();
      }
      throw err;
    }
    if (!this.wanted.has(topic) || this.watches.has(topic)) return;
    this.watches.set(topic, { cursor: `0-${head.last}`, epoch: head.epoch, current: true });
    this.wakeReader();
  }

  /** @internal HistoryStore */
  unwatch(topic: string): void {
    this.wanted.delete(topic);
    if (this.watches.delete(topic)) this.wakeReader();
  }

  /** @internal HistoryStore: queued in order; sent when Redis is reachable. */
  append(topic: string, data: string): Promise<{ epoch: string; seq: number }> {
    if (this.closed) return Promise.reject(new HistoryUnavailableError("history closed"));
    if (this.queue.length >= this.options.maxPending) {
      this.stats.refused++;
      return Promise.reject(new HistoryUnavailableError(`Redis history: ${this.queue.length} appends already waiting for Redis`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, data, number: this.nextNumber++, resolve, reject });
      if (!this.sending) queueMicrotask(() => void this.pump());
    });
  }

  /** @internal HistoryStore */
  async read(topic: string, position: ReadPosition, limit: number): Promise<HistoryRead> {
    await this.started;
    const cmd = this.cmd!;
    if (!cmd.isReady) throw new HistoryUnavailableError("Redis is unreachable");
    const mode = "after" in position ? "after" : "last";
    const n = "after" in position ? position.after : position.lastN;
    const now = Date.now();
    const reply = (await this.script(cmd, "read", [this.stream(topic), this.meta(topic)], [newEpoch(), String(now), String(this.options.maxAgeMs), mode, String(n), String(limit)])) as Array<string | number>;
    const entries: HistoryEntry[] = [];
    for (let i = 3; i + 2 < reply.length; i += 3) {
      entries.push({ seq: Number(reply[i]), time: Number(reply[i + 1]), data: String(reply[i + 2]) });
    }
    return { epoch: String(reply[0]), first: Number(reply[1]), last: Number(reply[2]), entries };
  }

  /** @internal HistoryStore */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new HistoryUnavailableError("history closed"));
    this.wake?.();
    await this.started.catch(() => {});
    for (const c of [this.reader, this.cmd]) {
      if (c === null) continue;
      try {
        // The reader may be blocked in XREAD: do not wait for it.
        if (c === this.reader) drop(c);
        else {
          // A clean close waits for the replies still owed; while Redis is unreachable they
          // may never come: wait a bounded time, then drop the connection.
          const closing = Promise.resolve((c.close ?? c.quit)?.call(c)).then(() => true);
          const closed = await Promise.race([closing, new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]);
          if (!closed) drop(c);
        }
      } catch {
        drop(c);
      }
    }
  }

  // ---- appends --------------------------------------------------------------------------

  /**
   * Sends the queued appends in order, one batch (one atomic script call) at a time, while
   * Redis is reachable. A batch that fails for a passing reason (the connection, Redis still
   * loading) is sent again as it was; the producer numbers make a batch that was stored but
   * whose reply was lost a no-op the second time.
   */
  private async pump(): Promise<void> {
    if (this.sending || this.closed || this.cmd === null) return;
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed && this.cmd.isReady) {
        const batch = this.queue.slice(0, this.options.appendBatch);
        const o = this.options;
        const keys: string[] = [];
        const pairs = new Map<string, number>();
        const args = [newEpoch(), String(o.maxCount), String(Date.now()), String(o.maxAgeMs), this.producer, String(o.idleExpiryMs)];
        for (const p of batch) {
          let k = pairs.get(p.topic);
          if (k === undefined) {
            keys.push(this.stream(p.topic), this.meta(p.topic));
            k = keys.length / 2;
            pairs.set(p.topic, k);
          }
          args.push(String(k), String(p.number), p.data);
        }
        let reply: Array<string | number>;
        try {
          reply = (await this.script(this.cmd, "append", keys, args)) as Array<string | number>;
        } catch (err) {
          if (this.closed) return;
          if (isRetryable(err) || !this.cmd.isReady) {
            this.stats.retried += batch.length;
            // Connected (Redis loading): retry shortly; else the client's "ready" calls pump.
            if (this.cmd.isReady) await delay(50);
            continue;
          }
          this.queue.splice(0, batch.length);
          for (const p of batch) p.reject(new HistoryUnavailableError(`Redis history append failed: ${(err as Error).message}`, { cause: err }));
          continue;
        }
        this.queue.splice(0, batch.length);
        for (let i = 0; i < batch.length; i++) {
          this.stats.appended++;
          batch[i].resolve({ epoch: String(reply[2 * i]), seq: Number(reply[2 * i + 1]) });
        }
      }
    } finally {
      this.sending = false;
    }
    if (this.queue.length > 0 && !this.closed && this.cmd.isReady) void this.pump();
  }

  // ---- the live reader ------------------------------------------------------------------

  /** Interrupts the reader's blocking XREAD so it picks up the new set of topics. */
  private wakeReader(): void {
    this.wake?.();
    if (!this.readerBlocked || this.readerId === null || this.cmd === null || !this.cmd.isReady) return;
    this.cmd.sendCommand(["CLIENT", "UNBLOCK", this.readerId]).catch(() => {});
  }

  private async readLoop(): Promise<void> {
    const reader = this.reader!;
    let failures = 0;
    while (!this.closed) {
      if (this.watches.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        if (!reader.isReady) throw new HistoryUnavailableError("reader connection down");
        if (this.readerId === null) this.readerId = String(await reader.sendCommand(["CLIENT", "ID"]));
        if (this.recheck) {
          this.recheck = false;
          await this.checkEpochs();
        }
        const topics = [...this.watches.keys()];
        const args = ["XREAD", "COUNT", String(this.options.readCount), "BLOCK", String(this.options.blockMs), "STREAMS"];
        for (const t of topics) args.push(this.stream(t));
        for (const t of topics) args.push(this.watches.get(t)!.cursor || "$");
        this.readerBlocked = true;
        const reply = (await reader.sendCommand(args)) as StreamsReply;
        this.readerBlocked = false;
        failures = 0;
        if (reply === null || reply === undefined) continue;
        // RESP2 gives [[key, entries], …]; RESP3 (and newer clients) a map of key → entries.
        for (const [key, entries] of Array.isArray(reply) ? reply : Object.entries(reply)) this.deliver(String(key), entries);
      } catch (err) {
        this.readerBlocked = false;
        if (this.closed) return;
        this.stats.readerFailures++;
        this.recheck = true;
        if (failures++ === 0) this.report(new HistoryUnavailableError(`Redis history reader: ${(err as Error).message}; retrying`, { cause: err }));
        await delay(Math.min(50 * 2 ** Math.min(failures, 10), this.options.maxReconnectDelay));
      }
    }
  }

  /** Hands a stream's new entries to the feed, advancing its cursor. */
  private deliver(key: string, entries: Array<[string, string[]]>): void {
    const p = this.options.keyPrefix;
    const topic = key.slice(p.length + 1, -3);
    const w = this.watches.get(topic);
    if (w === undefined) return;
    for (const [id, fields] of entries) {
      let data = "";
      let time = 0;
      let epoch = w.epoch;
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i] === "d") data = fields[i + 1];
        else if (fields[i] === "t") time = Number(fields[i + 1]);
        else if (fields[i] === "e") epoch = fields[i + 1];
      }
      if (epoch !== w.epoch) {
        // Before the current lineage's first entry: an older lineage's leftovers, skipped.
        if (!w.current) {
          w.cursor = id;
          continue;
        }
        // After it: the history was replaced under us (data lost, keys deleted) without this
        // reader seeing an outage. Check the epoch before reading on.
        this.recheck = true;
        w.mismatch = true;
        return;
      }
      w.current = true;
      w.cursor = id;
      this.stats.read++;
      this.feed?.entry(topic, epoch, { seq: Number(id.slice(id.indexOf("-") + 1)), data, time });
    }
  }

  /** After an outage: a topic whose epoch changed (its history was lost) restarts from the new one. */
  private async checkEpochs(): Promise<void> {
    for (const [topic, w] of this.watches) {
      const head = await this.read(topic, { lastN: 0 }, 0);
      if (w.epoch === "") {
        // Watched while Redis was down: live from here.
        w.epoch = head.epoch;
        w.cursor = `0-${head.last}`;
      } else if (head.epoch !== w.epoch) {
        // The history was lost and restarted: read the new lineage from its start (the
        // server tells each subscriber it cannot recover what it had).
        w.epoch = head.epoch;
        w.cursor = "0-0";
        w.current = false;
        this.feed?.reset(topic, head.epoch, 0);
      } else if (head.last < Number(w.cursor.slice(w.cursor.indexOf("-") + 1))) {
        // Same epoch but behind what this reader already read: Redis came back from an older
        // persistence file, and the next seqs would repeat ones subscribers have. Change the
        // lineage (once, whichever node sees it first) so that they are told.
        const epoch = String(await this.cmd!.sendCommand(["EVAL", BUMP_EPOCH, "1", this.meta(topic), w.epoch, newEpoch()]));
        w.epoch = epoch;
        w.cursor = `0-${head.last}`;
        w.current = true;
        this.feed?.reset(topic, epoch, head.last);
      } else if (w.mismatch === true) {
        // Same lineage: the entry of another epoch after the cursor was a leftover.
        w.current = false;
      }
      w.mismatch = false;
    }
  }
}

/** Closes a connection at once, without waiting for replies. */
function drop(c: Client): void {
  if (c.destroy !== undefined) c.destroy();
  else void c.disconnect?.().catch(() => {});
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether an append failed for a reason that passes (the connection, or Redis still loading its data). */
function isRetryable(err: unknown): boolean {
  const name = (err as Error)?.name ?? "";
  const msg = String((err as Error)?.message ?? "");
  return /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN)/.test(msg) || /Socket|Connection|Disconnect|Closed|ECONN|EPIPE|offline|not ready|Client/i.test(name + " " + msg);
}
