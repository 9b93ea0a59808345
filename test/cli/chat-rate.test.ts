/**
 * The chat rate limit (a token bucket: a burst of 10, 5 per second) with an injected clock:
 * a flood gets one notice, not one per refused message, and the limit lifts as time passes.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { CHAT_LIMITS, chatHandlers, chatTopics, newChatMember, type ChatMember } from "../../src/cli/chat.js";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { WebSocketServer } from "../../src/server/server.js";

interface ChatEvent {
  type: string;
  code?: string;
  text?: string;
  retryMs?: number;
}

/**
 * A chat server on port 0 whose rate limit reads `clock.now`; `handled(n)` resolves once the
 * server has handled n messages in all (refused ones included, which send nothing back).
 */
async function chatServer(t: TestContext, clock: { now: number }): Promise<{ url: string; handled(n: number): Promise<void> }> {
  let wss: WebSocketServer<ChatMember>;
  const handlers = chatHandlers(() => wss, () => clock.now);
  let count = 0;
  const waiting: Array<[number, () => void]> = [];
  wss = new WebSocketServer<ChatMember>({
    port: 0,
    host: "127.0.0.1",
    upgrade: () => newChatMember(clock.now),
    topics: chatTopics(new MemoryHistory()),
    close: handlers.close,
    message(ws, data, isBinary) {
      handlers.message(ws, data, isBinary);
      count++;
      for (const w of [...waiting]) if (count >= w[0]) (waiting.splice(waiting.indexOf(w), 1), w[1]());
    },
  });
  t.after(() => wss.close());
  await wss.ready();
  const handled = (n: number): Promise<void> => (count >= n ? Promise.resolve() : new Promise((resolve) => waiting.push([n, resolve])));
  return { url: `ws://127.0.0.1:${wss.port}/`, handled };
}

/** A client that collects events; `until(type, text)` resolves once a matching event has arrived. */
async function member(t: TestContext, url: string): Promise<{ ws: WebSocket; events: ChatEvent[]; say(text: string): void; until(type: string, text?: string): Promise<void> }> {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const events: ChatEvent[] = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (d: Buffer) => {
    events.push(JSON.parse(d.toString()) as ChatEvent);
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const until = (type: string, text?: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (events.some((e) => e.type === type && (text === undefined || e.text === text))) {
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        }
      };
      waiters.push(check);
      check();
    });
  return { ws, events, say: (text) => ws.send(JSON.stringify({ type: "say", text })), until };
}

test("a flood gets one rate-limit notice; the limit lifts as the clock advances, and the next flood gets one again", async (t) => {
  const clock = { now: 1_000_000 };
  const server = await chatServer(t, clock);
  const m = await member(t, server.url);
  m.ws.send(JSON.stringify({ type: "join", room: "flood", name: "f" }));
  await m.until("joined");
  // The join took one token: 9 of the burst are left, then 21 more are refused.
  for (let i = 0; i < 30; i++) m.say(`m${i}`);
  await server.handled(31);
  // Time refills one token: "after" goes through.
  clock.now += 1000 / CHAT_LIMITS.perSecond;
  m.say("after");
  await m.until("message", "after");
  const said = m.events.filter((e) => e.type === "message").map((e) => e.text);
  assert.deepEqual(said, [...Array.from({ length: CHAT_LIMITS.burst - 1 }, (_, i) => `m${i}`), "after"]);
  const notices = m.events.filter((e) => e.type === "error");
  assert.equal(notices.length, 1, JSON.stringify(notices));
  assert.equal(notices[0].code, "rate-limited");
  assert.match(notices[0].text ?? "", /slow down/);
  assert.ok((notices[0].retryMs ?? 0) > 0 && (notices[0].retryMs ?? 0) <= 1000 / CHAT_LIMITS.perSecond);

  // A second flood, after a message got through, is a new one: one more notice.
  for (let i = 0; i < 5; i++) m.say(`again${i}`);
  await server.handled(37);
  clock.now += 1000 / CHAT_LIMITS.perSecond;
  m.say("after again");
  await m.until("message", "after again");
  assert.equal(m.events.filter((e) => e.type === "error").length, 2);
});
