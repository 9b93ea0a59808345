// Scale-out through a real redis-server: three wsx node processes, clients on each.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, test, type TestContext } from "node:test";
import { createClient } from "redis";
import WebSocket from "ws";
import { skipUnless } from "../helpers/components.js";
import { spawnChild, type ChildHandle } from "../helpers/process.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { scaled, waitUntil } from "../helpers/time.js";

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

/** Starts one wsx node process (fixtures/node.ts) on `redisUrl`; resolves with its port once its adapter is connected. */
async function startNode(redisUrl: string, t?: TestContext): Promise<{ child: ChildHandle; port: number }> {
  const child = spawnChild(process.execPath, [FIXTURE, redisUrl], { t, name: "wsx node" });
  const port = Number((await child.waitForLine(/PORT (\d+)/, 10_000))[1]);
  await child.waitForLine(/READY/, 10_000);
  return { child, port };
}

describe("pub/sub across processes through Redis", { skip: await skipUnless("redis-server") }, () => {
  let redis: RedisServer | undefined;
  const nodes: ChildHandle[] = [];
  const ports: number[] = [];
  const clients: Client[][] = [];

  /** Subscribers of the topic's channel as Redis sees them (one per node with local subscribers). */
  async function channelSubscribers(): Promise<number> {
    const c = createClient({ url: redis!.url });
    c.on("error", () => {});
    await c.connect();
    const r = (await c.pubSubNumSub("wsx:t")) as Record<string, number>;
    await c.close();
    return Number(r["wsx:t"] ?? 0);
  }

  async function waitChannelSubscribers(n: number): Promise<void> {
    const deadline = Date.now() + scaled(15_000);
    for (;;) {
      const seen = await channelSubscribers().catch(() => -1);
      if (seen === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} channel subscribers, saw ${seen}`);
      await new Promise((r) => setTimeout(r, 50)); // Redis has no event for it: ask again
    }
  }

  const reset = (): void => {
    for (const list of clients) for (const c of list) c.got.length = 0;
  };

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i++) {
      const node = await startNode(redis.url);
      nodes.push(node.child);
      ports.push(node.port);
    }
    for (const port of ports) clients.push([await client(port), await client(port)]);
    await waitChannelSubscribers(3);
  });

  // Runs even when `before` failed half-way: releases whatever was started.
  after(async () => {
    for (const list of clients) for (const c of list) c.ws.terminate();
    await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
    await redis?.stop();
  });

  test("a node subscribes to the Redis channel only while it has local subscribers", async (t) => {
    const extra = await startNode(redis!.url, t);
    assert.equal(await channelSubscribers(), 3, "no local subscriber: no Redis subscription");
    const c = await client(extra.port);
    t.after(() => c.ws.terminate());
    await waitChannelSubscribers(4);
    c.ws.close();
    await waitChannelSubscribers(3);
  });

  test("every subscriber on every node gets each message exactly once, in order; not the sender", async () => {
    reset();
    const sender = clients[0][0];
    for (let i = 0; i < 50; i++) sender.ws.send(`m${i}`);
    const expectedOthers = [clients[0][1], clients[1][0], clients[1][1], clients[2][0], clients[2][1]];
    await waitUntil(() => expectedOthers.every((c) => c.got.length >= 50), "delivery to all", 10_000);
    // A barrier instead of a pause: a marker from node 1 and one from node 2, published after
    // all 50 were delivered everywhere. Each node gets at least one marker through Redis, in
    // order after every copy of m0..m49 Redis sent it (its own echo included), so once every
    // client has both markers, any duplicate has already arrived.
    clients[1][0].ws.send("end-1");
    clients[2][0].ws.send("end-2");
    const texts = (c: Client): string[] => c.got.map((m) => m.data.toString());
    const hasMarkers = (c: Client): boolean => ["end-1", "end-2"].every((m) => texts(c).includes(m) || c === clients[Number(m.slice(4))][0]);
    await waitUntil(() => [sender, ...expectedOthers].every(hasMarkers), "the end markers at every client", 10_000);
    const messages = (c: Client): string[] => texts(c).filter((m) => !m.startsWith("end-"));
    for (const c of expectedOthers) assert.deepEqual(messages(c), Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.deepEqual(messages(sender), [], "the sender gets none of its own messages");
  });

  test("binary payloads are byte-exact across nodes", async () => {
    reset();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    clients[1][0].ws.send(bytes);
    await waitUntil(() => clients[2][1].got.length === 1 && clients[0][0].got.length === 1, "binary delivery");
    for (const c of [clients[2][1], clients[0][0], clients[1][1]]) {
      assert.equal(c.got[0].isBinary, true);
      assert.ok(c.got[0].data.equals(bytes));
    }
  });

  test("Redis killed: local delivery continues; restarted: delivery resumes without restarting nodes", async () => {
    await redis!.kill();
    reset();
    clients[1][0].ws.send("while redis is down");
    await waitUntil(() => clients[1][1].got.length === 1, "local delivery");
    assert.equal(clients[1][1].got[0].data.toString(), "while redis is down");
    await redis!.restart();
    await waitChannelSubscribers(3); // the adapters reconnected and resubscribed by themselves
    reset();
    clients[2][0].ws.send("after restart");
    await waitUntil(() => clients[0][0].got.length === 1 && clients[1][1].got.length === 1, "delivery after restart", 10_000);
    assert.equal(clients[0][0].got[0].data.toString(), "after restart");
    assert.match(nodes[1].stderr(), /adapter error/, "the failure was reported through the error event");
  });

  test("one node killed: the others keep delivering", async () => {
    nodes[2].kill("SIGKILL");
    await nodes[2].exited();
    await waitChannelSubscribers(2);
    reset();
    clients[0][0].ws.send("survivors");
    await waitUntil(() => clients[1][0].got.length === 1 && clients[0][1].got.length === 1, "delivery");
    assert.equal(clients[1][0].got[0].data.toString(), "survivors");
  });
});
