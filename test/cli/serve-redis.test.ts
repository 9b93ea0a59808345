// `wsx serve --redis`: two server processes share chat rooms through a real redis-server.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { componentOrSkip } from "../helpers/components.js";
import { startRedis } from "../helpers/redis.js";
import { scaled, waitUntil } from "../helpers/time.js";
import { serve } from "./wsx.js";

/** Opens a chat connection and joins `room`; resolves once joined. */
async function joined(t: TestContext, host: string, room: string, name: string, inbox: string[]): Promise<WebSocket> {
  const ws = new WebSocket(`ws://${host}/chat`);
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const ok = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "joined" within ${scaled(5000)} ms`)), scaled(5000));
    ws.on("message", (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string; text?: string };
      if (m.type === "joined") (clearTimeout(timer), resolve());
      if (m.type === "message") inbox.push(m.text ?? "");
    });
  });
  ws.send(JSON.stringify({ type: "join", room, name }));
  await ok;
  return ws;
}

test("a message said on one wsx serve reaches the room's members on another", async (t) => {
  if (!(await componentOrSkip(t, "redis-server"))) return;
  const redis = await startRedis({ t });
  const [a, b] = [await serve(t, ["--redis", redis.url, "--quiet"]), await serve(t, ["--redis", redis.url, "--quiet"])];
  const inboxA: string[] = [];
  const inboxB: string[] = [];
  const ann = await joined(t, a.host, "shared", "ann", inboxA);
  const bob = await joined(t, b.host, "shared", "bob", inboxB);
  // Subscribing through Redis completes asynchronously: say something until bob hears it.
  let heard = false;
  for (let i = 0; i < 50 && !heard; i++) {
    ann.send(JSON.stringify({ type: "say", text: `ping ${i}` }));
    await new Promise((r) => setTimeout(r, 100));
    heard = inboxB.some((text) => text.startsWith("ping "));
  }
  assert.ok(heard, `bob heard ann across processes; bob's inbox: ${JSON.stringify(inboxB)}`);
  // Each message arrives once on each side (no echo through Redis back to the sender's node).
  const said = inboxA.filter((text) => text.startsWith("ping "));
  assert.equal(new Set(said).size, said.length, `no duplicates: ${JSON.stringify(said)}`);
  bob.send(JSON.stringify({ type: "say", text: "hello ann" }));
  // Rooms are durable topics: with --redis every node, the sender's too, delivers in the
  // order of the room's Redis stream, so bob hears himself through Redis as ann does.
  await waitUntil(() => inboxA.includes("hello ann") && inboxB.includes("hello ann"), "ann and bob to hear bob");
  assert.equal(inboxA.filter((text) => text === "hello ann").length, 1);
  assert.equal(inboxB.filter((text) => text === "hello ann").length, 1);
  ann.close();
  bob.close();
});
