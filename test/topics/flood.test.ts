// Bounded memory under floods: a durable subscriber that stops reading is not sent more than
// maxBackpressure plus one replay page; when it reads again it catches up from the history,
// every message once, in order. Replay buffers stay bounded while a replay is under way.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { MemoryHistory } from "../../src/server/memory-history.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { waitUntil } from "../helpers/time.js";
import { topicsServer } from "./helpers.js";

test("a durable subscriber that stops reading holds at most maxBackpressure + one page, then catches up: all, once, in order", async (t) => {
  const history = new MemoryHistory({ maxCount: 50_000 });
  const maxBackpressure = 256 * 1024;
  const replayBatch = 200;
  let server: ServerWebSocket<undefined> | null = null;
  const { wss, url } = await topicsServer(t, {
    maxBackpressure,
    topics: { durable: () => true, history, replayBatch, maxReplayBuffer: 100 },
    open: (ws) => void ((server = ws), ws.subscribe("flood")),
  });
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const got: number[] = [];
  ws.on("message", (d: Buffer) => {
    const f = JSON.parse(d.toString()) as { op: string; data: { i: number } };
    if (f.op === "msg") got.push(f.data.i);
  });
  await new Promise((r) => ws.once("open", r));
  await waitUntil(() => wss.subscriberCount("flood") === 1, "subscribed");
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const pad = "x".repeat(1000);
  const N = 20_000;
  let peak = 0;
  for (let i = 1; i <= N; i++) {
    void wss.publishDurable("flood", { i, pad });
    if (i % 100 === 0) {
      peak = Math.max(peak, server!.bufferedAmount);
      await new Promise((r) => setImmediate(r));
    }
  }
  // One page of ~1 KB messages over the limit at most (each frame ~1.05 KB).
  const bound = maxBackpressure + replayBatch * 1100 + 64 * 1024;
  assert.ok(peak <= bound, `peak ${peak} > ${bound}`);
  assert.ok(got.length < N, "the reader was really paused");
  socket.resume();
  await waitUntil(() => got.length >= N, "every message", 30_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, N);
  got.forEach((v, i) => assert.equal(v, i + 1));
});

test("durable messages go out compressed once to permessage-deflate subscribers, and arrive intact", async (t) => {
  const { wss, url } = await topicsServer(t, {
    perMessageDeflate: { serverNoContextTakeover: true, threshold: 64 },
    topics: { durable: () => true },
    open: (ws) => void ws.subscribe("z"),
  });
  const clients = await Promise.all(
    [0, 1, 2].map(async () => {
      const ws = new WebSocket(url, { perMessageDeflate: true });
      t.after(() => ws.terminate());
      const got: string[] = [];
      ws.on("message", (d: Buffer) => {
        const f = JSON.parse(d.toString()) as { op: string; data: string };
        if (f.op === "msg") got.push(f.data);
      });
      await new Promise((r) => ws.once("open", r));
      assert.match(ws.extensions as unknown as string, /permessage-deflate/);
      return got;
    }),
  );
  await waitUntil(() => wss.subscriberCount("z") === 3, "subscribed");
  const text = "compressible ".repeat(500);
  for (let i = 0; i < 20; i++) await wss.publishDurable("z", `${i} ${text}`);
  await waitUntil(() => clients.every((g) => g.length === 20), "20 each");
  for (const g of clients) g.forEach((v, i) => assert.equal(v, `${i} ${text}`));
  const s = wss.stats();
  // Highly compressible text went out compressed: payload bytes per wire byte well above 1.
  assert.ok(s.compressionRatio > 5, `compression ratio ${s.compressionRatio}`);
});

test("subscription churn leaves nothing behind: 10,000 durable subscribe/unsubscribe cycles with replays", async (t) => {
  const history = new MemoryHistory({ maxCount: 10 });
  let server: ServerWebSocket<undefined> | null = null;
  const { wss, url } = await topicsServer(t, { topics: { durable: () => true, history }, open: (ws) => void (server = ws) });
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  await new Promise((r) => ws.once("open", r));
  await waitUntil(() => server !== null, "connected");
  for (let i = 0; i < 100; i++) history.appendNow(`c${i}`, String(i));
  const { retainedBytes, MiB } = await import("../helpers/memory.js");
  const cycle = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const topic = `c${i % 100}`;
      server!.subscribe(topic, { last: 5 });
      if (i % 2 === 0) await new Promise((r) => setImmediate(r)); // half of them finish their replay
      server!.unsubscribe(topic);
    }
  };
  await cycle(1000);
  const before = retainedBytes();
  await cycle(10_000);
  // Replays begun by the last cycles end asynchronously: wait until every topic feed is gone.
  const feeds = (wss.durable as unknown as { feeds: Map<string, unknown> }).feeds;
  await waitUntil(() => feeds.size === 0, "no topic feed left");
  const grown = retainedBytes() - before;
  assert.equal(wss.subscriberCount("c1"), 0);
  assert.deepEqual(server!.topics, []);
  assert.ok(grown < 2 * MiB, `retained ${grown} bytes more`);
});
