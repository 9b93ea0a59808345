/**
 * Scale-out for wsx pub/sub through a real Redis server: every node publishes to a Redis
 * channel per topic and subscribes to the channels of the topics it has local subscribers
 * for. Uses the official `redis` client, an optional peer dependency loaded only here.
 *
 * Delivery across nodes is at-most-once: a message published while Redis is unreachable is
 * not queued for later (it is counted in `stats.failed` and reported through `error`);
 * local subscribers of the publishing node still get it. Redis itself drops messages
 * published to a channel while a node is not subscribed to it (for instance after a Redis
 * restart, until that node's connection is back and resubscribed) and tells no one; so each
 * message carries its publisher's per-channel sequence number and the receiving node counts
 * the numbers it never got (`stats.lost`, the `lost` event).
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { PubSubAdapter, RemoteDelivery } from "../server/adapter.js";
import { decodeEnvelope, encodeEnvelope } from "./envelope.js";
import { GapTracker, SequenceCounter } from "./sequence-tracker.js";

/** How long `close()` waits for a connection to close cleanly before dropping it, ms. */
const CLOSE_WAIT_MS = 1000;

/** Options of {@link RedisAdapter}. */
export interface RedisAdapterOptions {
  /** Redis URL, e.g. "redis://127.0.0.1:6379". Ignored with `cluster`. */
  url?: string;
  /** Redis Cluster: root nodes; pub/sub then uses sharded channels (SPUBLISH/SSUBSCRIBE). */
  cluster?: { rootNodes: Array<{ url: string }> };
  /** Prefix of the Redis channel names: channel = prefix + topic. Default "wsx:". */
  channelPrefix?: string;
  /** Longest wait between reconnection attempts, ms. Default 2000. */
  maxReconnectDelay?: number;
}

/** Counters of one adapter. */
export interface RedisAdapterStats {
  /** Messages sent to Redis. */
  published: number;
  /** Messages from other nodes delivered locally. */
  received: number;
  /** Messages that could not be sent to Redis (it was unreachable). */
  failed: number;
  /** Own messages that came back and were dropped. */
  ownEchoes: number;
  /**
   * Messages from other nodes, to topics this node was listening to, that never arrived here:
   * counted when a later message from the same node to the same topic arrives with a
   * sequence number past the next one expected. Includes messages whose publish failed on
   * their node (also in that node's `failed`) and messages Redis dropped while this node's
   * subscription was down. A loss is known only once a later message shows it: messages lost
   * after a node's last message to a topic are not counted (the `reconnected` event gives the
   * window in which they may have been lost).
   */
  lost: number;
}

/** A `lost` event: messages of one publishing node to one topic that never arrived here. */
export interface RedisLostMessages {
  /** The topic (without the channel prefix). */
  topic: string;
  /** The publishing node's id, as hex. */
  nodeId: string;
  /** How many messages are missing. */
  count: number;
}

/** Which of the adapter's two Redis connections an event is about. */
export type RedisConnectionRole = "publish" | "subscribe";

/** A `disconnected` event: a connection that was up is down; the client retries by itself. */
export interface RedisDisconnected {
  connection: RedisConnectionRole;
  /** When the adapter noticed, ms since the epoch. */
  at: number;
}

/**
 * A `reconnected` event. For the subscribe connection it comes after its channels are
 * subscribed again: messages other nodes published to them between `downSince` and `at` were
 * not received here (Redis pub/sub keeps nothing); those followed by a later message from the
 * same node are counted in `stats.lost`.
 */
export interface RedisReconnected {
  connection: RedisConnectionRole;
  /** When the connection was noticed down, ms since the epoch. */
  downSince: number;
  /** When it was up again (and, for subscribe, resubscribed), ms since the epoch. */
  at: number;
}

interface PubClient {
  connect(): Promise<unknown>;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): void;
  on(event: string, f: (...args: any[]) => void): unknown;
  publish?(channel: string, message: Buffer): Promise<number>;
  sPublish?(channel: string, message: Buffer): Promise<number>;
  duplicate?(): PubClient;
  subscribe?(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  unsubscribe?(channel: string): Promise<void>;
  sSubscribe?(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  sUnsubscribe?(channel: string): Promise<void>;
}

/**
 * A {@link PubSubAdapter} over Redis pub/sub. Events: `error` (Error), `ready`, `subscribed`
 * (topic: the channel subscription is active), `lost` ({@link RedisLostMessages}),
 * `disconnected` ({@link RedisDisconnected}) and `reconnected` ({@link RedisReconnected});
 * the last two with a single Redis server, not with `cluster`.
 *
 * ```ts
 * import { RedisAdapter } from "wsx/redis";
 * const wss = new WebSocketServer({ port: 8080, adapter: new RedisAdapter({ url: "redis://127.0.0.1:6379" }) });
 * ```
 */
export class RedisAdapter extends EventEmitter implements PubSubAdapter {
  /** This node's id, sent with every message. */
  readonly nodeId = randomBytes(16);
  /** Counters. */
  readonly stats: RedisAdapterStats = { published: 0, received: 0, failed: 0, ownEchoes: 0, lost: 0 };

  private readonly options: RedisAdapterOptions;
  private readonly prefix: string;
  private deliver: RemoteDelivery | null = null;
  private pub: PubClient | null = null;
  private sub: PubClient | null = null;
  private readonly started: Promise<void>;
  private readonly topics = new Set<string>();
  private closed = false;
  /** Set once both connections are up; topics added before then are subscribed at that point. */
  private connected = false;
  private readonly sequences = new SequenceCounter();
  private readonly gaps = new GapTracker();
  /** Publishes sent to Redis and not yet answered. */
  private pending = 0;
  private settledWaiters: Array<() => void> = [];

  constructor(options: RedisAdapterOptions = {}) {
    super();
    this.options = options;
    this.prefix = options.channelPrefix ?? "wsx:";
    this.started = this.start();
    // Failures are reported through `error`; the promise itself must not go unhandled.
    this.started.catch((err: Error) => this.report(err));
  }

  /** Resolves once both Redis connections are up. */
  ready(): Promise<void> {
    return this.started;
  }

  private report(err: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  /** Emits an informational event; a listener that throws is reported, never thrown into the Redis client. */
  private notify(event: string, value: unknown): void {
    try {
      this.emit(event, value);
    } catch (err) {
      this.report(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async start(): Promise<void> {
    let redis: typeof import("redis");
    try {
      redis = await import("redis");
    } catch (err) {
      throw new Error(`RedisAdapter needs the "redis" package (an optional peer dependency): npm install redis (${(err as Error).message.split("\n")[0]})`);
    }
    const maxDelay = this.options.maxReconnectDelay ?? 2000;
    const socket = { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, maxDelay) };
    let pub: PubClient;
    let sub: PubClient;
    if (this.options.cluster !== undefined) {
      const make = (): PubClient =>
        redis.createCluster({ rootNodes: this.options.cluster!.rootNodes, defaults: { socket, disableOfflineQueue: true } }) as unknown as PubClient;
      pub = make();
      sub = make();
    } else {
      pub = redis.createClient({ url: this.options.url, socket, disableOfflineQueue: true }) as unknown as PubClient;
      sub = pub.duplicate!();
    }
    pub.on("error", (err: Error) => this.report(err));
    sub.on("error", (err: Error) => this.report(err));
    this.watch(pub, "publish");
    this.watch(sub, "subscribe");
    this.pub = pub;
    this.sub = sub;
    await Promise.all([pub.connect(), sub.connect()]);
    if (this.closed) {
      await this.shutdown();
      return;
    }
    this.connected = true;
    // Topics that got local subscribers while we were connecting.
    for (const topic of this.topics) this.listen(topic);
    this.emit("ready");
  }

  /** Reports outages of one connection: `disconnected` once, then `reconnected` when it is ready again. */
  private watch(client: PubClient, connection: RedisConnectionRole): void {
    let up = false;
    let downSince = 0;
    client.on("ready", () => {
      if (!up && downSince !== 0 && !this.closed) this.notify("reconnected", { connection, downSince, at: Date.now() } satisfies RedisReconnected);
      up = true;
    });
    client.on("reconnecting", () => {
      if (!up) return;
      up = false;
      downSince = Date.now();
      if (!this.closed) this.notify("disconnected", { connection, at: downSince } satisfies RedisDisconnected);
    });
  }

  /** @internal PubSubAdapter */
  attach(deliver: RemoteDelivery): void {
    this.deliver = deliver;
  }

  /** @internal PubSubAdapter: sends a locally published message to the other nodes. */
  publish(topic: string, data: Buffer, isBinary: boolean): void {
    const pub = this.pub;
    const channel = this.prefix + topic;
    // Numbered even if it cannot be sent: receivers then count it as lost too.
    const message = encodeEnvelope(this.nodeId, data, isBinary, this.sequences.take(channel));
    if (pub === null || this.closed) {
      this.fail(new Error(`redis adapter not connected; message to "${topic}" not sent to other nodes`));
      return;
    }
    let sent: Promise<number>;
    try {
      sent = this.options.cluster !== undefined ? pub.sPublish!(channel, message) : pub.publish!(channel, message);
    } catch (err) {
      this.fail(new Error(`redis publish to "${topic}" failed: ${(err as Error).message}`));
      return;
    }
    this.pending++;
    sent.then(
      () => {
        this.stats.published++;
        this.publishSettled();
      },
      (err: Error) => {
        this.fail(new Error(`redis publish to "${topic}" failed: ${err.message}`));
        this.publishSettled();
      },
    );
  }

  /**
   * Resolves once no publish is waiting for Redis's answer: every publish made before has
   * then been counted in `stats.published` (Redis took it) or `stats.failed`.
   */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private publishSettled(): void {
    if (--this.pending > 0 || this.settledWaiters.length === 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private fail(err: Error): void {
    this.stats.failed++;
    this.report(err);
  }

  /** @internal PubSubAdapter: first local subscriber of `topic`. */
  subscribe(topic: string): void {
    this.topics.add(topic);
    if (this.connected && !this.closed) this.listen(topic);
  }

  /** @internal PubSubAdapter: last local subscriber of `topic` left. */
  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic)) return;
    this.gaps.forget(topic);
    const sub = this.sub;
    if (sub === null || this.closed) return;
    const channel = this.prefix + topic;
    const done = this.options.cluster !== undefined ? sub.sUnsubscribe!(channel) : sub.unsubscribe!(channel);
    done.catch((err: Error) => this.report(err));
  }

  private listen(topic: string): void {
    const sub = this.sub!;
    const channel = this.prefix + topic;
    const onMessage = (message: Buffer): void => this.onMessage(topic, message);
    // The client resubscribes by itself after a reconnect.
    const done = this.options.cluster !== undefined ? sub.sSubscribe!(channel, onMessage, true) : sub.subscribe!(channel, onMessage, true);
    done.then(
      () => this.notify("subscribed", topic),
      (err: Error) => this.report(err),
    );
  }

  private onMessage(topic: string, message: Buffer): void {
    const env = decodeEnvelope(message);
    if (env === null) return;
    // The publishing node already delivered to its own subscribers.
    if (env.nodeId.equals(this.nodeId)) {
      this.stats.ownEchoes++;
      return;
    }
    if (!this.topics.has(topic)) return;
    if (env.sequence !== -1) {
      const missed = this.gaps.receive(topic, env.nodeId.toString("hex"), env.sequence);
      if (missed > 0) {
        this.stats.lost += missed;
        this.notify("lost", { topic, nodeId: env.nodeId.toString("hex"), count: missed } satisfies RedisLostMessages);
      }
    }
    this.stats.received++;
    this.deliver?.(topic, env.payload, env.isBinary);
  }

  /** @internal PubSubAdapter: closes both Redis connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.started.catch(() => {});
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    for (const c of [this.sub, this.pub]) {
      if (c === null) continue;
      // A clean close waits for the replies still owed; while Redis is unreachable they may
      // never come, so wait a bounded time, then drop the connection.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
      });
      try {
        const closing = c.close !== undefined ? c.close() : c.quit !== undefined ? c.quit() : Promise.resolve();
        if (!(await Promise.race([closing.then(() => true), gaveUp]))) c.destroy?.();
      } catch {
        c.destroy?.();
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
