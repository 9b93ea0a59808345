// The chat demo's rooms as durable topics (server side of `wsx serve`): a member who joins
// gets the room's recent history; one who rejoins with `from` gets what was said since, each
// message once, with offsets; an offset the history cannot reach gets "unrecoverable".
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { CHAT_LIMITS, chatHandlers, chatTopics, newChatMember, type ChatMember } from "../../src/cli/chat.js";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { WebSocketServer } from "../../src/server/server.js";
import { waitUntil } from "../helpers/time.js";

interface ChatEvent {
  type: string;
  text?: string;
  name?: string;
  room?: string;
  offset?: string;
}

async function chatServer(t: TestContext, history = new MemoryHistory()) {
  let wss: WebSocketServer<ChatMember>;
  const handlers = chatHandlers(() => wss);
  wss = new WebSocketServer<ChatMember>({ port: 0, host: "127.0.0.1", upgrade: () => newChatMember(), topics: chatTopics(history), ...handlers });
  t.after(() => wss.close());
  await wss.ready();
  return { wss, url: `ws://127.0.0.1:${wss.port}/`, history };
}

async function member(t: TestContext, url: string) {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const events: ChatEvent[] = [];
  ws.on("message", (d: Buffer) => events.push(JSON.parse(d.toString()) as ChatEvent));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, events, send: (m: unknown) => ws.send(JSON.stringify(m)), said: () => events.filter((e) => e.type === "message") };
}

test("join shows recent history; rejoining with from shows what was said meanwhile, once, in order", async (t) => {
  const { url } = await chatServer(t);
  const ann = await member(t, url);
  ann.send({ type: "join", room: "tea", name: "ann" });
  await waitUntil(() => ann.events.some((e) => e.type === "joined"), "joined");
  for (let i = 1; i <= 3; i++) ann.send({ type: "say", text: `m${i}` });
  await waitUntil(() => ann.said().length === 3, "3 messages");
  const seen = ann.said()[1].offset!; // ann's page saw m1, m2, then dropped
  assert.match(seen, /^[A-Za-z0-9]+-2$/);
  ann.ws.terminate();

  const bob = await member(t, url);
  bob.send({ type: "join", room: "tea", name: "bob" });
  await waitUntil(() => bob.said().length === 3, "recent history on join");
  assert.deepEqual(bob.said().map((e) => e.text), ["m1", "m2", "m3"]);
  bob.send({ type: "say", text: "m4" });

  const back = await member(t, url);
  back.send({ type: "join", room: "tea", name: "ann", from: seen });
  await waitUntil(() => back.said().length === 2, "m3 and m4");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(back.said().map((e) => e.text), ["m3", "m4"]);
  assert.deepEqual(Object.keys(back.said()[0]).sort(), ["name", "offset", "room", "text", "ts", "type"]);
  back.send({ type: "say", text: "m5" });
  await waitUntil(() => back.said().length === 3 && bob.said().length === 5, "live after replay");
  assert.equal(back.events.filter((e) => e.type === "unrecoverable").length, 0);
});

test("join with no from gets at most the last 50; an unreachable from gets unrecoverable; a malformed one an error", async (t) => {
  const history = new MemoryHistory({ maxCount: 60 });
  const { wss } = await chatServer(t, history);
  for (let i = 1; i <= 80; i++) await wss.publishDurable("room:big", { type: "message", room: "big", name: "x", text: `m${i}`, ts: 0 });
  const url = `ws://127.0.0.1:${wss.port}/`;
  const a = await member(t, url);
  a.send({ type: "join", room: "big", name: "a" });
  await waitUntil(() => a.said().length === CHAT_LIMITS.recent, "50 recent");
  assert.equal(a.said()[0].text, "m31");
  const b = await member(t, url);
  b.send({ type: "join", room: "big", name: "b", from: `${history.epoch}-3` });
  await waitUntil(() => b.events.some((e) => e.type === "unrecoverable"), "unrecoverable");
  assert.deepEqual(b.events.find((e) => e.type === "unrecoverable"), { type: "unrecoverable", room: "big" });
  await waitUntil(() => b.said().length === 60, "what is kept");
  const c = await member(t, url);
  c.send({ type: "join", room: "big", name: "c", from: "nope" });
  await waitUntil(() => c.events.some((e) => e.type === "error"), "error");
  assert.equal(c.events.some((e) => e.type === "joined"), false);
});
