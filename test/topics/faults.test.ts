// Faults with a real redis-server and real sockets: kill -9 and restart redis-server (AOF,
// appendfsync always) in the middle of 100,000 messages; restart the subscribers' wsx node;
// cut a client's TCP connection mid-stream; lose Redis's data, or keep a node's reader away
// longer than the history covers. Every subscriber ends with every message, in order, none
// twice, or is told plainly that it cannot (unrecoverable), and service resumes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { RedisHistory, type RedisHistoryOptions } from "../../src/redis/redis-history.js";
import { skipUnless } from "../helpers/components.js";
import { startRedis } from "../helpers/redis.js";
import { startRelay } from "../helpers/relay.js";
import { waitUntil } from "../helpers/time.js";
import { seqOf, topicsServer, type TopicFrame } from "./helpers.js";

const durable = (t: string): boolean => t.startsWith("d:");
const TOPIC = "d:faults";

/** A wsx node whose durable topics live in Redis at `url`. */
async function node(t: TestContext, url: string, options: RedisHistoryOptions = {}) {
  // The history covers the whole run unless a test says otherwise.
  const history = new RedisHistory({ url, maxReconnectDelay: 100, maxCount: 200_000, ...options });
  history.on("error", () => {});
  await history.ready();
  return { history, ...(await topicsServer(t, { topics: { durable, history, authorize: () => true } })) };
}

/**
 * A subscriber that reconnects whenever its connection drops and resubscribes from the last
 * offset it got. It keeps every message it receives (no dedupe: the test checks the server).
 */
class ResumingSubscriber {
  readonly got: TopicFrame[] = [];
  readonly signals: TopicFrame[] = [];
  connections = 0;
  private ws: WebSocket | null = null;
  private stopped = false;
  constructor(private readonly url: () => string) {}

  start(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url(), "wsx.topics.v1");
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.connections++;
      const last = this.got.at(-1)?.offset;
      ws.send(JSON.stringify({ op: "sub", topic: TOPIC, ...(last ? { from: last } : {}) }));
    });
    ws.addEventListener("message", (e) => {
      const f = JSON.parse(String(e.data)) as TopicFrame;
      if (f.op === "msg") this.got.push(f);
      else this.signals.push(f);
    });
    // Reconnect at once (a real client backs off; the test wants it quick).
    ws.addEventListener("close", () => setTimeout(() => this.start(), 20));
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }

  /** Asserts seqs 1..n in order, each once, with data = seq (one publisher, in order). */
  assertAll(n: number, epoch?: string): void {
    assert.equal(this.got.length, n, `${this.got.length} messages, expected ${n}`);
    for (let i = 0; i < n; i++) {
      const f = this.got[i];
      if (seqOf(f.offset) !== i + 1 || f.data !== i + 1) assert.fail(`message ${i}: offset ${f.offset}, data ${JSON.stringify(f.data)}`);
      if (epoch !== undefined && !f.offset!.startsWith(epoch + "-")) assert.fail(`message ${i}: epoch changed (${f.offset})`);
    }
  }
}

/** Publishes data 1..n on `TOPIC` with at most `window` appends outstanding; `at(i)` runs after i is accepted. */
async function publishAll(publish: (i: number) => Promise<string>, n: number, window: number, at?: (i: number) => void): Promise<string[]> {
  const offsets: string[] = [];
  for (let start = 1; start <= n; start += window) {
    const batch: Array<Promise<string>> = [];
    for (let i = start; i < start + window && i <= n; i++) {
      batch.push(publish(i));
      at?.(i);
    }
    offsets.push(...(await Promise.all(batch)));
  }
  return offsets;
}

describe("faults", { skip: await skipUnless("redis-server") }, () => {
  test("kill -9 redis-server (appendonly yes, appendfsync always) mid 100,000 messages, restart: every subscriber on both nodes gets all, in order, once", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "wsx-aof-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const redis = await startRedis({ t, args: ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] });
    const a = await node(t, redis.url);
    const b = await node(t, redis.url);
    const subs = [new ResumingSubscriber(() => b.url), new ResumingSubscriber(() => b.url), new ResumingSubscriber(() => a.url)];
    t.after(() => subs.forEach((s) => s.stop()));
    for (const s of subs) s.start();
    await waitUntil(() => subs.every((s) => s.signals.some((f) => f.op === "subscribed")), "subscribed");
    const N = 100_000;
    let crash: Promise<void> | null = null;
    const offsets = await publishAll((i) => a.wss.publishDurable(TOPIC, i), N, 2000, (i) => {
      // Mid-stream, with appends in flight: kill -9, then start it again on the same AOF.
      if (i === 30_000) crash = redis.kill().then(() => redis.restart());
    });
    await crash;
    assert.equal(new Set(offsets).size, N, "every append got its own offset");
    const epoch = offsets[0].split("-")[0];
    assert.ok(offsets.every((o, i) => o === `${epoch}-${i + 1}`), "offsets 1..N in one epoch");
    await waitUntil(() => subs.every((s) => s.got.length >= N), "every message at every subscriber", 60_000);
    for (const s of subs) s.assertAll(N, epoch);
    for (const s of subs) assert.equal(s.signals.filter((f) => f.op === "unrecoverable").length, 0);
    assert.ok(a.history.stats.retried > 0 || a.history.stats.readerFailures > 0, "the crash was noticed");
  });

  test("the subscribers' wsx node restarts mid-stream; they reconnect to a new node and resume: all, in order, once", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    let b = await node(t, redis.url);
    const subs = [new ResumingSubscriber(() => b.url), new ResumingSubscriber(() => b.url)];
    t.after(() => subs.forEach((s) => s.stop()));
    for (const s of subs) s.start();
    await waitUntil(() => subs.every((s) => s.signals.some((f) => f.op === "subscribed")), "subscribed");
    const N = 10_000;
    let restart: Promise<void> | null = null;
    await publishAll((i) => a.wss.publishDurable(TOPIC, i), N, 500, (i) => {
      if (i === 3000) {
        restart = (async () => {
          await b.wss.close();
          b = await node(t, redis.url);
        })();
      }
    });
    await restart;
    await waitUntil(() => subs.every((s) => s.got.length >= N && s.connections >= 2), "every message, after reconnecting", 30_000);
    for (const s of subs) s.assertAll(N);
  });

  test("a client's TCP connection is cut mid-stream; it reconnects with its last offset: all, in order, once", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    const relay = await startRelay(a.wss.port, t);
    const sub = new ResumingSubscriber(() => `ws://127.0.0.1:${relay.port}/`);
    t.after(() => sub.stop());
    sub.start();
    await waitUntil(() => sub.signals.some((f) => f.op === "subscribed"), "subscribed");
    const N = 10_000;
    let cuts = 0;
    for (let start = 1; start <= N; start += 500) {
      await publishAll((i) => a.wss.publishDurable(TOPIC, start - 1 + i), 500, 500);
      if (start === 2001 || start === 6001) {
        // Cut while connected and behind what is published: mid-stream for this subscriber.
        await waitUntil(() => relay.size > 0 && sub.connections === cuts + 1, "connected");
        relay.cut();
        cuts++;
      }
    }
    await waitUntil(() => sub.got.length >= N && sub.connections === cuts + 1, "every message, after reconnecting", 30_000);
    sub.assertAll(N);
    assert.equal(cuts, 2);
  });

  test("redis-server dies and comes back without its data: subscribers get unrecoverable/epoch, then the new messages", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    const b = await node(t, redis.url);
    const sub = new ResumingSubscriber(() => b.url);
    t.after(() => sub.stop());
    sub.start();
    await waitUntil(() => sub.signals.some((f) => f.op === "subscribed"), "subscribed");
    await publishAll((i) => a.wss.publishDurable(TOPIC, i), 100, 100);
    await waitUntil(() => sub.got.length === 100, "100 before");
    await redis.kill();
    // Published while Redis is down: queued by the node, stored once Redis is back.
    const during = publishAll((i) => a.wss.publishDurable(TOPIC, 100 + i), 50, 50);
    await redis.restart();
    const after = await during;
    assert.ok(after.every((o) => o.split("-")[0] !== sub.got[0].offset!.split("-")[0]), "a new epoch");
    assert.deepEqual(after.map(seqOf), Array.from({ length: 50 }, (_, i) => i + 1));
    await waitUntil(() => sub.got.length === 150, "the 50 of the new epoch");
    const u = sub.signals.find((f) => f.op === "unrecoverable");
    assert.deepEqual([u?.reason, u?.from], ["epoch", sub.got[99].offset]);
    assert.deepEqual(sub.got.slice(100).map((f) => f.data), Array.from({ length: 50 }, (_, i) => 101 + i));
    assert.deepEqual(sub.got.slice(100).map((f) => f.offset), after);
  });

  test("a node's reader is away while more than the history holds is published: unrecoverable/truncated, then live again", async (t) => {
    const redis = await startRedis({ t });
    const relay = await startRelay(redis.port, t);
    const a = await node(t, redis.url, { maxCount: 100 });
    const b = await node(t, `redis://127.0.0.1:${relay.port}`, { maxCount: 100 });
    const sub = new ResumingSubscriber(() => b.url);
    t.after(() => sub.stop());
    sub.start();
    await waitUntil(() => sub.signals.some((f) => f.op === "subscribed"), "subscribed");
    await publishAll((i) => a.wss.publishDurable(TOPIC, i), 10, 10);
    await waitUntil(() => sub.got.length === 10, "10 before");
    relay.hold();
    relay.cut();
    await waitUntil(() => b.history.stats.readerFailures > 0, "node B's reader noticed");
    await publishAll((i) => a.wss.publishDurable(TOPIC, 10 + i), 1000, 200);
    relay.release();
    await waitUntil(() => sub.got.at(-1)?.data === 1010, "live again", 20_000);
    const u = sub.signals.find((f) => f.op === "unrecoverable");
    assert.deepEqual([u?.reason, u?.from], ["truncated", sub.got[9].offset]);
    const seqs = sub.got.map((f) => seqOf(f.offset));
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], "in order, none twice");
    assert.ok(seqs.length < 1010 && seqs.length >= 110, `${seqs.length}: the gap is real and what is kept arrives`);
    await a.wss.publishDurable(TOPIC, "more");
    await waitUntil(() => sub.got.at(-1)?.data === "more", "still live");
  });
});
