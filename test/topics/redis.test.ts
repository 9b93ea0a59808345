// Durable topics across two wsx nodes through a real redis-server (Redis Streams): stream
// order on every node, resume from an offset written by the other node, unrecoverable when
// the stream was trimmed past a subscriber's offset, and the Lua append's retry dedupe.
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { RedisHistory } from "../../src/redis/redis-history.js";
import { HistoryUnavailableError } from "../../src/server/history.js";
import { skipUnless } from "../helpers/components.js";
import { startRelay } from "../helpers/relay.js";
import { startRedis } from "../helpers/redis.js";
import { waitUntil } from "../helpers/time.js";
import { connectTopics, seqOf, topicsServer } from "./helpers.js";

const durable = (t: string): boolean => t.startsWith("d:");

/** A wsx node on 127.0.0.1:0 whose durable topics live in Redis at `url`. */
async function node(t: TestContext, url: string, options: { maxCount?: number } = {}) {
  const history = new RedisHistory({ url, maxReconnectDelay: 100, ...options });
  history.on("error", () => {});
  await history.ready();
  return { history, ...(await topicsServer(t, { topics: { durable, history, authorize: () => true } })) };
}

describe("durable topics through Redis Streams", { skip: await skipUnless("redis-server") }, () => {
  test("two nodes: messages published on A reach subscribers on A and B in stream order; B resumes from A's offsets", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    const b = await node(t, redis.url);
    const onA = await connectTopics(t, a.url);
    const onB = await connectTopics(t, b.url);
    for (const c of [onA, onB]) {
      c.send({ op: "sub", topic: "d:r" });
      await c.next((f) => f.op === "subscribed", "subscribed");
    }
    // Both nodes publish, interleaved: every subscriber sees one order, the stream's.
    const offsets = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a.wss : b.wss).publishDurable("d:r", i)));
    assert.deepEqual(offsets.map(seqOf).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1));
    await waitUntil(() => onA.messages("d:r").length === 200 && onB.messages("d:r").length === 200, "200 on both nodes");
    const orderA = onA.messages("d:r").map((f) => f.offset);
    assert.deepEqual(onB.messages("d:r").map((f) => f.offset), orderA);
    orderA.forEach((o, i) => assert.equal(seqOf(o), i + 1));
    // The same data under the same offset everywhere.
    const byOffset = new Map(offsets.map((o, i) => [o, i]));
    for (const f of onB.messages("d:r")) assert.equal(f.data, byOffset.get(f.offset!));

    const late = await connectTopics(t, b.url);
    late.send({ op: "sub", topic: "d:r", from: orderA[149] });
    const s = await late.next((f) => f.op === "subscribed", "subscribed");
    assert.equal(seqOf(s.offset), 200);
    assert.deepEqual(late.messages("d:r").map((f) => f.offset), orderA.slice(150));
    assert.equal(late.frames.some((f) => f.op === "unrecoverable"), false);
  });

  test("trimmed past the subscriber's offset: unrecoverable/truncated, then what is kept, then live", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url, { maxCount: 100 });
    let first = "";
    for (let i = 1; i <= 1000; i++) {
      const o = await a.wss.publishDurable("d:trim", i);
      if (i === 1) first = o;
    }
    const c = await connectTopics(t, a.url);
    c.send({ op: "sub", topic: "d:trim", from: first });
    await c.next((f) => f.op === "subscribed", "subscribed");
    const u = c.frames.find((f) => f.op === "unrecoverable");
    assert.deepEqual([u?.reason, u?.from], ["truncated", first]);
    const seqs = c.messages("d:trim").map((f) => seqOf(f.offset));
    // MAXLEN ~ keeps at least 100 (whole stream nodes), never everything.
    assert.ok(seqs.length >= 100 && seqs.length < 999, `${seqs.length} kept`);
    seqs.forEach((s, i) => assert.equal(s, seqs[0] + i));
    assert.equal(seqs.at(-1), 1000);
    await a.wss.publishDurable("d:trim", "live");
    await c.next((f) => f.op === "msg" && f.data === "live", "live message");
  });

  test("appends wait in order while Redis is down, up to maxPending; past it they are refused; the rest are stored once it is back", async (t) => {
    const redis = await startRedis({ t });
    const history = new RedisHistory({ url: redis.url, maxPending: 10, maxReconnectDelay: 100 });
    history.on("error", () => {});
    t.after(() => history.close());
    await history.ready();
    await history.append("d:p", "0");
    await redis.kill();
    await waitUntil(() => !(history as unknown as { cmd: { isReady: boolean } }).cmd.isReady, "the client noticed");
    const waiting = Array.from({ length: 10 }, (_, i) => history.append("d:p", String(i + 1)));
    await assert.rejects(history.append("d:p", "11"), HistoryUnavailableError);
    assert.equal(history.stats.refused, 1);
    await redis.restart();
    const stored = await Promise.all(waiting);
    // A restart without persistence: a new epoch, numbered from 1, in the order appended.
    assert.deepEqual(stored.map((s) => s.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const read = await history.read("d:p", { after: 0 }, 100);
    assert.deepEqual(read.entries.map((e) => e.data), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  });

  test("a history whose Redis data is gone gets a new epoch; an old offset gets unrecoverable/epoch", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    const old = await a.wss.publishDurable("d:e", "before");
    // Another client wipes Redis (as a restart without persistence would).
    const { createClient } = await import("redis");
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    await admin.close();
    const now = await a.wss.publishDurable("d:e", "after");
    assert.notEqual(now.split("-")[0], old.split("-")[0]);
    assert.equal(seqOf(now), 1);
    const c = await connectTopics(t, a.url);
    c.send({ op: "sub", topic: "d:e", from: old });
    await c.next((f) => f.op === "subscribed", "subscribed");
    assert.deepEqual(c.frames[0], { op: "unrecoverable", topic: "d:e", from: old, reason: "epoch" });
  });

  test("a history replaced under a live subscriber, with no outage (FLUSHALL): unrecoverable/epoch, then the new lineage from its start", async (t) => {
    const redis = await startRedis({ t });
    const a = await node(t, redis.url);
    const b = await node(t, redis.url);
    const c = await connectTopics(t, b.url);
    c.send({ op: "sub", topic: "d:live" });
    await c.next((f) => f.op === "subscribed", "subscribed");
    for (let i = 1; i <= 5; i++) await a.wss.publishDurable("d:live", i);
    await waitUntil(() => c.messages("d:live").length === 5, "5 before");
    const before = c.messages("d:live")[4].offset!;
    const { createClient } = await import("redis");
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    await admin.close();
    // More than were there before: the new lineage's first entries are below the old cursor.
    for (let i = 1; i <= 8; i++) await a.wss.publishDurable("d:live", 100 + i);
    await waitUntil(() => c.messages("d:live").length === 13, "the new lineage");
    const after = c.messages("d:live").slice(5);
    assert.deepEqual(after.map((f) => f.data), [101, 102, 103, 104, 105, 106, 107, 108]);
    assert.deepEqual(after.map((f) => seqOf(f.offset)), [1, 2, 3, 4, 5, 6, 7, 8]);
    const u = c.frames.find((f) => f.op === "unrecoverable");
    assert.deepEqual([u?.reason, u?.from], ["epoch", before]);
  });

  test("Redis comes back older than what a node's reader had read (a rolled-back AOF): the lineage changes and subscribers are told", async (t) => {
    const redis = await startRedis({ t });
    const relay = await startRelay(redis.port, t);
    const a = await node(t, redis.url);
    const b = await node(t, `redis://127.0.0.1:${relay.port}`);
    const c = await connectTopics(t, b.url);
    c.send({ op: "sub", topic: "d:rb" });
    await c.next((f) => f.op === "subscribed", "subscribed");
    for (let i = 1; i <= 10; i++) await a.wss.publishDurable("d:rb", i);
    await waitUntil(() => c.messages("d:rb").length === 10, "10 before");
    const last = c.messages("d:rb")[9].offset!;
    relay.hold();
    relay.cut();
    await waitUntil(() => b.history.stats.readerFailures > 0, "node B's reader noticed");
    // As if Redis restarted from a file that lacks the last 4 appends.
    const { createClient } = await import("redis");
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.xDel("wsx:h:{d:rb}:s", ["0-7", "0-8", "0-9", "0-10"]);
    await admin.sendCommand(["XSETID", "wsx:h:{d:rb}:s", "0-6"]);
    await admin.hSet("wsx:h:{d:rb}:m", "n", "6");
    await admin.close();
    relay.release();
    const u = await c.next((f) => f.op === "unrecoverable", "unrecoverable", 0, 15_000);
    assert.deepEqual([u.reason, u.from], ["epoch", last]);
    for (let i = 1; i <= 3; i++) await a.wss.publishDurable("d:rb", 100 + i);
    await waitUntil(() => c.messages("d:rb").length === 13, "the new lineage");
    const after = c.messages("d:rb").slice(10);
    assert.deepEqual(after.map((f) => f.data), [101, 102, 103]);
    assert.ok(after.every((f) => f.offset!.split("-")[0] !== last.split("-")[0]), "a new epoch");
    assert.deepEqual(after.map((f) => seqOf(f.offset)), [7, 8, 9]);
  });
});
