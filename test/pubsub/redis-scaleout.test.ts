// Scale-out through a real redis-server: three wsx node processes, clients on each.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { createClient } from "redis";
import WebSocket from "ws";
import { missing } from "../support/components.js";
import { waitFor } from "../support/echo-server.js";
import { spawnChild, type Child } from "../support/processes.js";
import { startRedis, type RedisServer } from "../support/redis.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/node.js", import.meta.url));

interface Client {
  ws: WebSocket;
  got: Array<{ data: Buffer; isBinary: boolean }>;
}

function client(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const got: Client["got"] = [];
    ws.on("message", (data, isBinary) => got.push({ data: data as Buffer, isBinary }));
    ws.once("open", () => resolve({ ws, got }));
    ws.once("error", reject);
  });
}

describe("pub/sub across processes through Redis", { skip: missing("redis-server") }, () => {
  let redis: RedisServer;
  const nodes: Child[] = [];
  const ports: number[] = [];
  const clients: Client[][] = [];

  /** Subscribers of the topic's channel as Redis sees them (one per node with local subscribers). */
  async function channelSubscribers(): Promise<number> {
    const c = createClient({ url: redis.url });
    c.on("error", () => {});
    await c.connect();
    const r = (await c.pubSubNumSub("wsx:t")) as Record<string, number>;
    await c.close();
    return Number(r["wsx:t"] ?? 0);
  }

  async function waitChannelSubscribers(n: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const seen = await channelSubscribers().catch(() => -1);
      if (seen === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} channel subscribers, saw ${seen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const reset = (): void => {
    for (const list of clients) for (const c of list) c.got.length = 0;
  };

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i++) {
      const child = spawnChild(process.execPath, [FIXTURE, redis.url]);
      nodes.push(child);
      ports.push(Number((await child.waitFor(/PORT (\d+)/))[1]));
      await child.waitFor(/READY/);
    }
    for (const port of ports) clients.push([await client(port), await client(port)]);
    await waitChannelSubscribers(3);
  });

  after(async () => {
    for (const list of clients) for (const c of list) c.ws.terminate();
    for (const n of nodes) n.kill("SIGKILL");
    await redis.stop();
  });

  test("a node subscribes to the Redis channel only while it has local subscribers", async () => {
    const extra = spawnChild(process.execPath, [FIXTURE, redis.url]);
    const port = Number((await extra.waitFor(/PORT (\d+)/))[1]);
    await extra.waitFor(/READY/);
    assert.equal(await channelSubscribers(), 3, "no local subscriber: no Redis subscription");
    const c = await client(port);
    await waitChannelSubscribers(4);
    c.ws.close();
    await waitChannelSubscribers(3);
    extra.kill("SIGKILL");
    await extra.exited();
  });

  test("every subscriber on every node gets each message exactly once, in order; not the sender", async () => {
    reset();
    const sender = clients[0][0];
    for (let i = 0; i < 50; i++) sender.ws.send(`m${i}`);
    const expectedOthers = [clients[0][1], clients[1][0], clients[1][1], clients[2][0], clients[2][1]];
    await waitFor(() => expectedOthers.every((c) => c.got.length >= 50), 10_000, "delivery to all");
    await new Promise((r) => setTimeout(r, 200)); // any duplicate would arrive by now
    for (const c of expectedOthers) assert.deepEqual(c.got.map((m) => m.data.toString()), Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.equal(sender.got.length, 0);
  });

  test("binary payloads are byte-exact across nodes", async () => {
    reset();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    clients[1][0].ws.send(bytes);
    await waitFor(() => clients[2][1].got.length === 1 && clients[0][0].got.length === 1, 5000, "binary delivery");
    for (const c of [clients[2][1], clients[0][0], clients[1][1]]) {
      assert.equal(c.got[0].isBinary, true);
      assert.ok(c.got[0].data.equals(bytes));
    }
  });

  test("Redis killed: local delivery continues; restarted: delivery resumes without restarting nodes", async () => {
    await redis.kill();
    reset();
    clients[1][0].ws.send("while redis is down");
    await waitFor(() => clients[1][1].got.length === 1, 5000, "local delivery");
    assert.equal(clients[1][1].got[0].data.toString(), "while redis is down");
    await redis.restart();
    await waitChannelSubscribers(3); // the adapters reconnected and resubscribed by themselves
    reset();
    clients[2][0].ws.send("after restart");
    await waitFor(() => clients[0][0].got.length === 1 && clients[1][1].got.length === 1, 10_000, "delivery after restart");
    assert.equal(clients[0][0].got[0].data.toString(), "after restart");
    assert.match(nodes[1].stderr(), /adapter error/, "the failure was reported through the error event");
  });

  test("one node killed: the others keep delivering", async () => {
    nodes[2].kill("SIGKILL");
    await nodes[2].exited();
    await waitChannelSubscribers(2);
    reset();
    clients[0][0].ws.send("survivors");
    await waitFor(() => clients[1][0].got.length === 1 && clients[0][1].got.length === 1, 5000, "delivery");
    assert.equal(clients[1][0].got[0].data.toString(), "survivors");
  });
});
