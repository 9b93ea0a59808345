// Topic pub/sub on one server: semantics, encode-once delivery, cleanup, slow subscribers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { WebSocketServer } from "../../src/server/server.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { connectRaw } from "../support/raw-peer.js";
import { waitFor } from "../support/echo-server.js";

async function room(options: Record<string, unknown> = {}): Promise<{ wss: WebSocketServer<{ id: number }>; url: string; sockets: Map<number, ServerWebSocket<{ id: number }>> }> {
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
  await wss.ready();
  return { wss, url: `ws://127.0.0.1:${wss.port}/`, sockets };
}

function client(url: string): Promise<{ ws: WebSocket; got: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: Buffer[] = [];
    ws.on("message", (d) => got.push(d as Buffer));
    ws.once("open", () => resolve({ ws, got }));
    ws.once("error", reject);
  });
}

describe("topics on one server", () => {
  test("ws.publish reaches every subscriber but the sender; server.publish reaches all", async () => {
    const { wss, url } = await room();
    const [a, b, c] = await Promise.all([client(url), client(url), client(url)]);
    await waitFor(() => wss.subscriberCount("room") === 3, 2000, "3 subscribers");
    a.ws.send("from a");
    await waitFor(() => b.got.length === 1 && c.got.length === 1, 2000, "delivery");
    assert.equal(a.got.length, 0, "publish-to-self exclusion");
    assert.equal(wss.publish("room", "from server"), 3);
    await waitFor(() => a.got.length === 1 && b.got.length === 2 && c.got.length === 2, 2000, "server publish");
    assert.equal(b.got[0].toString(), "from a");
    assert.equal(a.got[0].toString(), "from server");
    for (const x of [a, b, c]) x.ws.close();
    await wss.close();
  });

  test("binary stays binary and byte-exact; order is kept", async () => {
    const { wss, url } = await room();
    const [a, b] = await Promise.all([client(url), client(url)]);
    await waitFor(() => wss.subscriberCount("room") === 2, 2000, "subscribers");
    for (let i = 0; i < 100; i++) a.ws.send(Buffer.from([i, 255 - i, 0]));
    await waitFor(() => b.got.length === 100, 5000, "100 messages");
    for (let i = 0; i < 100; i++) assert.deepEqual([...b.got[i]], [i, 255 - i, 0]);
    a.ws.close();
    b.ws.close();
    await wss.close();
  });

  test("subscribe/unsubscribe/isSubscribed/topics, and cleanup on close", async () => {
    const { wss, url, sockets } = await room();
    const a = await client(url);
    await waitFor(() => sockets.size === 1, 2000, "open");
    const ws = sockets.get(0)!;
    assert.equal(ws.isSubscribed("room"), true);
    assert.equal(ws.subscribe("room"), false, "already subscribed");
    assert.equal(ws.subscribe("other"), true);
    assert.deepEqual(ws.topics.sort(), ["other", "room"]);
    assert.equal(ws.unsubscribe("other"), true);
    assert.equal(ws.unsubscribe("other"), false);
    assert.equal(wss.subscriberCount("other"), 0);
    a.ws.close();
    await waitFor(() => wss.subscriberCount("room") === 0, 2000, "cleanup on close");
    assert.equal(wss.topics.subscribers.size, 0, "no topic left behind");
    await wss.close();
  });

  test("no leak after 100,000 subscribe/unsubscribe cycles and 2,000 connection cycles", async () => {
    const { wss, url, sockets } = await room();
    const a = await client(url);
    await waitFor(() => sockets.size === 1, 2000, "open");
    const ws = sockets.get(0)!;
    for (let i = 0; i < 100_000; i++) {
      ws.subscribe(`t${i % 1000}`);
      ws.unsubscribe(`t${i % 1000}`);
    }
    assert.equal(wss.topics.subscribers.size, 1);
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => client(url)));
      await waitFor(() => wss.subscriberCount("room") === 101, 5000, "batch subscribed");
      for (const b of batch) b.ws.terminate();
      await waitFor(() => wss.subscriberCount("room") === 1, 5000, "batch gone");
    }
    assert.equal(wss.clients.size, 1);
    assert.equal(wss.topics.subscribers.size, 1);
    a.ws.close();
    await wss.close();
  });

  test("a slow subscriber does not stall the others; its buffer stays bounded; drops are counted", async () => {
    const limit = 64 * 1024;
    const { wss, url, sockets } = await room({ maxBackpressure: limit });
    const fast = await client(url);
    const slow = await connectRaw(wss.port);
    slow.socket.pause(); // stops reading: its socket buffers fill up
    await waitFor(() => wss.subscriberCount("room") === 2, 2000, "subscribers");
    const slowWs = [...sockets.values()].find((s) => s.data.id === 1)!;
    // 20 MB in all: more than the kernel's socket buffers can absorb for the slow reader.
    const message = Buffer.alloc(4096, 1);
    let maxBuffered = 0;
    for (let i = 0; i < 5000; i++) {
      wss.publish("room", message);
      maxBuffered = Math.max(maxBuffered, slowWs.bufferedAmount);
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => fast.got.length === 5000, 20_000, "fast subscriber gets everything");
    assert.ok(wss.droppedMessages > 0, "the slow subscriber's excess is dropped and counted");
    assert.ok(maxBuffered <= limit + 64 * 1024, `slow buffer bounded, saw ${maxBuffered}`);
    slow.destroy();
    fast.ws.close();
    await wss.close();
  });

  test("compressed publish: one compressed frame for subscribers without server context takeover", async () => {
    const { wss, url } = await room({ perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } });
    const mk = (opts: WebSocket.ClientOptions): Promise<{ ws: WebSocket; got: Buffer[] }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, opts);
        const got: Buffer[] = [];
        ws.on("message", (d) => got.push(d as Buffer));
        ws.once("open", () => resolve({ ws, got }));
      });
    const pub = await mk({});
    const z1 = await mk({ perMessageDeflate: true });
    const z2 = await mk({ perMessageDeflate: true });
    const plain = await mk({ perMessageDeflate: false });
    await waitFor(() => wss.subscriberCount("room") === 4, 2000, "subscribers");
    const text = "compressible ".repeat(200);
    pub.ws.send(text);
    pub.ws.send("second");
    await waitFor(() => [z1, z2, plain].every((x) => x.got.length === 2), 5000, "delivery");
    for (const x of [z1, z2, plain]) assert.deepEqual(x.got.map(String), [text, "second"]);
    for (const x of [pub, z1, z2, plain]) x.ws.close();
    await wss.close();
  });
});
