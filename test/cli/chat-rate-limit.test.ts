// The chat rate limit (a token bucket: a burst of CHAT_LIMITS.burst messages, refilled at
// CHAT_LIMITS.perSecond) with an injected clock: every step is exact, nothing waits for
// real time to pass.
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import WebSocket from "ws";
import { CHAT_LIMITS, chatHandlers, newChatMember, type ChatMember } from "../../src/cli/chat.js";
import { WebSocketServer } from "../../src/server/server.js";
import { nextEvent, waitUntil } from "../helpers/time.js";

/** A chat server in this process whose limiter reads `clock.now`. */
async function chatServer(t: TestContext, clock: { now: number }): Promise<string> {
  let wss: WebSocketServer<ChatMember> | undefined;
  const handlers = chatHandlers(() => wss!, { now: () => clock.now });
  wss = new WebSocketServer<ChatMember>({ port: 0, host: "127.0.0.1", upgrade: () => newChatMember(clock.now), ...handlers });
  t.after(async () => {
    for (const ws of wss!.clients) ws.terminate();
    await wss!.close();
  });
  await wss.ready();
  return `ws://127.0.0.1:${wss.port}/`;
}

/** A member that has joined a room; `replies` collects the types of what it got after joining. */
async function joined(t: TestContext, url: string): Promise<{ ws: WebSocket; replies: Array<{ type: string; text?: string }> }> {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  await nextEvent(ws, "open");
  const replies: Array<{ type: string; text?: string }> = [];
  ws.on("message", (d: Buffer) => replies.push(JSON.parse(d.toString()) as { type: string; text?: string }));
  ws.send(JSON.stringify({ type: "join", room: "r", name: "n" }));
  await waitUntil(() => replies.some((r) => r.type === "joined"), "the join");
  replies.length = 0;
  return { ws, replies };
}

/** Sends `n` say messages and waits for their `n` replies (messages or errors); returns the replies. */
async function say(member: { ws: WebSocket; replies: Array<{ type: string; text?: string }> }, n: number): Promise<string[]> {
  const start = member.replies.length;
  for (let i = 0; i < n; i++) member.ws.send(JSON.stringify({ type: "say", text: `m${i}` }));
  const relevant = (): Array<{ type: string }> => member.replies.slice(start).filter((r) => r.type === "message" || r.type === "error");
  await waitUntil(() => relevant().length >= n, `${n} replies`);
  return relevant().map((r) => r.type);
}

describe("chat rate limit (token bucket, injected clock)", () => {
  test(`a burst of ${CHAT_LIMITS.burst} passes; the next is refused until time refills a token`, async (t) => {
    const clock = { now: 1_000_000 };
    const m = await joined(t, await chatServer(t, clock));
    // The join took one token.
    assert.deepEqual(await say(m, CHAT_LIMITS.burst - 1), Array(CHAT_LIMITS.burst - 1).fill("message"));
    assert.deepEqual(await say(m, 1), ["error"], "the bucket is empty");
    assert.match(m.replies.at(-1)?.text ?? "", /slow down/);
    clock.now += 1000 / CHAT_LIMITS.perSecond - 1; // not quite one token
    assert.deepEqual(await say(m, 1), ["error"]);
    clock.now += 1; // now exactly one token
    assert.deepEqual(await say(m, 1), ["message"]);
    assert.deepEqual(await say(m, 1), ["error"]);
  });

  test("an idle member's bucket refills to the burst, never beyond", async (t) => {
    const clock = { now: 5_000_000 };
    const m = await joined(t, await chatServer(t, clock));
    clock.now += 60_000; // a minute idle: would be 300 tokens without the cap
    const replies = await say(m, CHAT_LIMITS.burst + 1);
    assert.deepEqual(replies, [...Array(CHAT_LIMITS.burst).fill("message"), "error"]);
  });
});
