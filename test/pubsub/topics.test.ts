// Topic pub/sub on one server: semantics, encode-once delivery, cleanup, slow subscribers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { WebSocketServer } from "../../src/server/server.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import type { TestContext } from "node:test";
import { connectRaw } from "../helpers/raw-client.js";
import { waitUntil } from "../helpers/time.js";

/** A server whose clients all join topic "room" and publish what they send; stopped when `t` ends. */
async function room(t: TestContext, options: Record<string, unknown> = {}): Promise<{ wss: WebSocketServer<{ id: number }>; url: string; sockets: Map<number, ServerWebSocket<{ id: number }>> }> {
  let next = 0;
  const sockets = new Map<number, ServerWebSocket<{ id: number }>>();
  const wss = new WebSocketServer<{ id: number }>({
    port: 0,
    host: "127.0.0.1",
    upgrade: () => ({ id: next++ }),
    open(ws) {
      sockets.set(ws.data.id, ws);
      ws.subscribe("room");
    },
    message(ws, data, isBinary) {
      ws.publish("room", data, isBinary);
    },
    ...options,
  });
  t.after(async (t) => {
    for (const ws of wss.clients) ws.terminate();
    await wss.close();
  });
  await wss.ready();
  return { wss, url: `ws://127.0.0.1:${wss.port}/`, sockets };
}

/** A `ws` client of `url`, terminated when `t` ends. */
function client(t: TestContext, url: string): Promise<{ ws: WebSocket; got: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    t.after(() => ws.terminate());
    const got: Buffer[] = [];
    ws.on("message", (d) => got.push(d as Buffer));
    ws.once("open", () => resolve({ ws, got }));
    ws.once("error", reject);
  });
}

describe("topics on one server", () => {
  test("ws.publish reaches every subscriber but the sender; server.publish reaches all", async (t) => {
    const { wss, url } = await room(t);
    const [a, b, c] = await Promise.all([client(t, url), client(t, url), client(t, url)]);
    await waitUntil(() => wss.subscriberCount("room") === 3, "3 subscribers");
    a.ws.send("from a");
    await waitUntil(() => b.got.length === 1 && c.got.length === 1, "delivery");
    assert.equal(a.got.length, 0, "publish-to-self exclusion");
    assert.equal(wss.publish("room", "from server"), 3);
    await waitUntil(() => a.got.length === 1 && b.got.length === 2 && c.got.length === 2, "server publish");
    assert.equal(b.got[0].toString(), "from a");
    assert.equal(a.got[0].toString(), "from server");
    for (const x of [a, b, c]) x.ws.close();
    await wss.close();
  });

  test("binary stays binary and byte-exact; order is kept", async (t) => {
    const { wss, url } = await room(t);
    const [a, b] = await Promise.all([client(t, url), client(t, url)]);
    await waitUntil(() => wss.subscriberCount("room") === 2, "subscribers");
    for (let i = 0; i < 100; i++) a.ws.send(Buffer.from([i, 255 - i, 0]));
    await waitUntil(() => b.got.length === 100, "100 messages", 5000);
    for (let i = 0; i < 100; i++) assert.deepEqual([...b.got[i]], [i, 255 - i, 0]);
    a.ws.close();
    b.ws.close();
    await wss.close();
  });

  test("subscribe/unsubscribe/isSubscribed/topics, and cleanup on close", async (t) => {
    const { wss, url, sockets } = await room(t);
    const a = await client(t, url);
    await waitUntil(() => sockets.size === 1, "open");
    const ws = sockets.get(0)!;
    assert.equal(ws.isSubscribed("room"), true);
    assert.equal(ws.subscribe("room"), false, "already subscribed");
    assert.equal(ws.subscribe("other"), true);
    assert.deepEqual(ws.topics.sort(), ["other", "room"]);
    assert.equal(ws.unsubscribe("other"), true);
    assert.equal(ws.unsubscribe("other"), false);
    assert.equal(wss.subscriberCount("other"), 0);
    a.ws.close();
    await waitUntil(() => wss.subscriberCount("room") === 0, "cleanup on close");
    assert.equal(wss.topics.subscribers.size, 0, "no topic left behind");
    await wss.close();
  });

  test("no leak after 100,000 subscribe/unsubscribe cycles and 2,000 connection cycles", async (t) => {
    const { wss, url, sockets } = await room(t);
    const a = await client(t, url);
    await waitUntil(() => sockets.size === 1, "open");
    const ws = sockets.get(0)!;
    for (let i = 0; i < 100_000; i++) {
      ws.subscribe(`t${i % 1000}`);
      ws.unsubscribe(`t${i % 1000}`);
    }
    assert.equal(wss.topics.subscribers.size, 1);
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => client(t, url)));
      await waitUntil(() => wss.subscriberCount("room") === 101, "batch subscribed", 5000);
      for (const b of batch) b.ws.terminate();
      await waitUntil(() => wss.subscriberCount("room") === 1, "batch gone", 5000);
    }
    assert.equal(wss.clients.size, 1);
    assert.equal(wss.topics.subscribers.size, 1);
    a.ws.close();
    await wss.close();
  });

  test("a slow subscriber does not stall the others; its buffer stays bounded; drops are counted", async (t) => {
    const limit = 64 * 1024;
    const { wss, url, sockets } = await room(t, { maxBackpressure: limit });
    const fast = await client(t, url);
    const slow = await connectRaw(wss.port, { t });
    slow.socket.pause(); // stops reading: its socket buffers fill up
    await waitUntil(() => wss.subscriberCount("room") === 2, "subscribers");
    const slowWs = [...sockets.values()].find((s) => s.data.id === 1)!;
    // 20 MB in all: more than the kernel's socket buffers can absorb for the slow reader.
    const message = Buffer.alloc(4096, 1);
    let maxBuffered = 0;
    for (let i = 0; i < 5000; i++) {
      wss.publish("room", message);
      maxBuffered = Math.max(maxBuffered, slowWs.bufferedAmount);
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => fast.got.length === 5000, "fast subscriber gets everything", 20_000);
    assert.ok(wss.droppedMessages > 0, "the slow subscriber's excess is dropped and counted");
    assert.ok(maxBuffered <= limit + 64 * 1024, `slow buffer bounded, saw ${maxBuffered}`);
    slow.destroy();
    fast.ws.close();
    await wss.close();
  });

  test("bursts of small publishes (shared by reference, across arenas) with direct sends and a skipped sender in between arrive exactly, in order", async (t) => {
    const { wss, url, sockets } = await room(t);
    const [a, b] = await Promise.all([client(t, url), client(t, url)]);
    await waitUntil(() => wss.subscriberCount("room") === 2, "subscribers");
    const wsA = sockets.get(0)!;
    const wsB = sockets.get(1)!;
    const expectA: string[] = [];
    const expectB: string[] = [];
    // Three bursts of 600 publishes (~37 KB each: more than two 16 KiB arenas), each in one tick;
    // the first before any write (copies), the next ones after writes completed (runs).
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 600; i++) {
        const text = `b${burst} m${i} `.padEnd(60, "x");
        if (i % 7 === 3) {
          wsA.publish("room", text); // a is the sender: only b gets it
          expectB.push(text);
        } else {
          wss.publish("room", text);
          expectA.push(text);
          expectB.push(text);
        }
        if (i % 50 === 25) {
          wsB.send(`direct ${burst}/${i}`); // between two shared frames, in order
          expectB.push(`direct ${burst}/${i}`);
        }
      }
      await waitUntil(() => a.got.length === expectA.length && b.got.length === expectB.length, `burst ${burst}`, 10_000);
    }
    assert.deepEqual(a.got.map(String), expectA);
    assert.deepEqual(b.got.map(String), expectB);
    a.ws.close();
    b.ws.close();
    await wss.close();
  });

  test("a slow subscriber of small publishes (frames shared by reference) stays bounded; the fast one gets every byte", async (t) => {
    const limit = 64 * 1024;
    const { wss, url, sockets } = await room(t, { maxBackpressure: limit });
    const fast = await client(t, url);
    const slow = await connectRaw(wss.port, { t });
    slow.socket.pause();
    await waitUntil(() => wss.subscriberCount("room") === 2, "subscribers");
    const slowWs = [...sockets.values()].find((s) => s.data.id === 1)!;
    let maxBuffered = 0;
    const count = 20_000; // 1 KiB each: 20 MB, far more than the kernel buffers take
    for (let i = 0; i < count; i++) {
      const message = Buffer.alloc(1024, i & 0xff);
      message.writeUInt32BE(i, 0);
      wss.publish("room", message);
      maxBuffered = Math.max(maxBuffered, slowWs.bufferedAmount);
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => fast.got.length === count, "fast subscriber gets everything", 30_000);
    for (let i = 0; i < count; i += 997) {
      assert.equal(fast.got[i].readUInt32BE(0), i);
      assert.equal(fast.got[i][1023], i & 0xff);
    }
    assert.ok(wss.droppedMessages > 0, "the slow subscriber's excess is dropped and counted");
    assert.ok(maxBuffered <= limit + 2048, `slow buffer bounded, saw ${maxBuffered}`);
    slow.destroy();
    fast.ws.close();
    await wss.close();
  });

  test("compressed publish: one compressed frame for subscribers without server context takeover", async (t) => {
    const { wss, url } = await room(t, { perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } });
    const mk = (opts: WebSocket.ClientOptions): Promise<{ ws: WebSocket; got: Buffer[] }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, opts);
        t.after(() => ws.terminate());
        const got: Buffer[] = [];
        ws.on("message", (d) => got.push(d as Buffer));
        ws.once("open", () => resolve({ ws, got }));
      });
    const pub = await mk({});
    const z1 = await mk({ perMessageDeflate: true });
    const z2 = await mk({ perMessageDeflate: true });
    const plain = await mk({ perMessageDeflate: false });
    await waitUntil(() => wss.subscriberCount("room") === 4, "subscribers");
    const text = "compressible ".repeat(200);
    pub.ws.send(text);
    pub.ws.send("second");
    await waitUntil(() => [z1, z2, plain].every((x) => x.got.length === 2), "delivery", 5000);
    for (const x of [z1, z2, plain]) assert.deepEqual(x.got.map(String), [text, "second"]);
    for (const x of [pub, z1, z2, plain]) x.ws.close();
    await wss.close();
  });
});
