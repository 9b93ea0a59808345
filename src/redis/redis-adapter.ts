/**
 * Scale-out for wsx pub/sub through a real Redis server: every node publishes to a Redis
 * channel per topic and subscribes to the channels of the topics it has local subscribers
 * for. Uses the official `redis` client, an optional peer dependency loaded only here.
 *
 * Delivery across nodes is at-most-once: a message published while Redis is unreachable is
 * not queued for later (it is counted in `stats.failed` and reported through `error`);
 * local subscribers of the publishing node still get it.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { PubSubAdapter, RemoteDelivery } from "../server/adapter.js";
import { decodeEnvelope, encodeEnvelope } from "./envelope.js";

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
 * A {@link PubSubAdapter} over Redis pub/sub. Events: `error` (Error), `ready`.
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
  readonly stats: RedisAdapterStats = { published: 0, received: 0, failed: 0, ownEchoes: 0 };

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

  private async start(): Promise<void> {
    const redis = await import("redis");
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

  /** @internal PubSubAdapter */
  attach(deliver: RemoteDelivery): void {
    this.deliver = deliver;
  }

  /** @internal PubSubAdapter: sends a locally published message to the other nodes. */
  publish(topic: string, data: Buffer, isBinary: boolean): void {
    const pub = this.pub;
    const message = encodeEnvelope(this.nodeId, data, isBinary);
    const channel = this.prefix + topic;
    if (pub === null || this.closed) {
      this.fail(new Error(`redis adapter not connected; message to "${topic}" not sent to other nodes`));
      return;
    }
    const sent = this.options.cluster !== undefined ? pub.sPublish!(channel, message) : pub.publish!(channel, message);
    sent.then(
      () => void this.stats.published++,
      (err: Error) => this.fail(new Error(`redis publish to "${topic}" failed: ${err.message}`)),
    );
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
    done.catch((err: Error) => this.report(err));
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
      try {
        if (c.close !== undefined) await c.close();
        else if (c.quit !== undefined) await c.quit();
      } catch {
        c.destroy?.();
      }
    }
  }
}
