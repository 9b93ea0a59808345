// The topic client (wsx.topics.v1 over the reconnecting client) against the real durable
// topics server: history on subscribe, acks, resume after a cut TCP connection with no gap
// and no duplicate, unrecoverable history, offline publishes, errors.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import type { OfflineEvent, OnlineEvent, TopicResumedEvent, TopicUnrecoverableEvent } from "../../src/client/reconnect/events.js";
import { ReconnectingWebSocket } from "../../src/client/reconnect/node.js";
import { TopicClient, TopicClientError, TOPICS_PROTOCOL } from "../../src/client/reconnect/topic-client.js";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { WebSocketServer } from "../../src/server/server.js";
import type { TopicsOptions } from "../../src/server/topics-options.js";
import { waitUntil, within } from "../helpers/time.js";
import { seqOf, topicsServer } from "./helpers.js";

/** A TopicClient on a fast-retrying ReconnectingWebSocket, closed when `t` ends. */
function connect(t: TestContext, url: string): { topics: TopicClient; socket: ReconnectingWebSocket; events: string[] } {
  // Short delays keep the test quick; nothing here depends on them.
  const socket = new ReconnectingWebSocket(url, TOPICS_PROTOCOL, { initialDelay: 20, maxDelay: 200 });
  const topics = new TopicClient(socket);
  const events: string[] = [];
  for (const type of ["online", "offline", "close"]) socket.addEventListener(type, () => events.push(type));
  for (const type of ["resumed", "unrecoverable", "error"]) topics.addEventListener(type, () => events.push(type));
  t.after(() => socket.close());
  return { topics, socket, events };
}

/** The next `type` event of `target`. */
function next<E extends Event>(target: EventTarget, type: string, what = type): Promise<E> {
  return within(new Promise<E>((resolve) => target.addEventListener(type, (e) => resolve(e as E), { once: true })), what, 10_000);
}

const durable = (extra: Partial<TopicsOptions> = {}): { topics: TopicsOptions } => ({ topics: { durable: /^d:/, authorize: () => true, ...extra } });

/** Drops every connection of the server at once (TCP reset: no close handshake). */
function cut(wss: { clients: Set<{ terminate(): void }> }): void {
  for (const ws of wss.clients) ws.terminate();
}

test("subscribe with last: the recent history, then live; publish resolves with the stored offset", async (t) => {
  const { wss, url } = await topicsServer(t, durable());
  for (let i = 1; i <= 5; i++) await wss.publishDurable("d:news", { n: i });
  const { topics } = connect(t, url);
  const got: Array<[unknown, string | null]> = [];
  const sub = topics.subscribe("d:news", { last: 2 }, (data, offset) => got.push([data, offset]));
  await within(sub.ready, "subscribed", 10_000);
  assert.deepEqual(got.map(([d]) => d), [{ n: 4 }, { n: 5 }]);
  assert.equal(sub.offset, got[1][1]);
  const offset = await within(topics.publish("d:news", { n: 6 }), "the ack", 10_000);
  assert.equal(seqOf(offset), 6);
  await waitUntil(() => got.length === 3, "the live message");
  assert.deepEqual(got[2], [{ n: 6 }, offset]);
  // Ephemeral topics: offset null, acked with null.
  const live: unknown[] = [];
  const eph = topics.subscribe("chatter", {}, (data, off) => live.push([data, off]));
  await eph.ready;
  assert.equal(await topics.publish("chatter", "hi"), null);
  await waitUntil(() => live.length === 1, "the ephemeral message");
  assert.deepEqual(live, [["hi", null]]);
  assert.throws(() => topics.subscribe("d:news", {}, () => {}), /already subscribed/);
});

test("a TCP connection cut mid-stream: the client resumes from its last offset, no gap, no duplicate, while publishing goes on", async (t) => {
  const { wss, url } = await topicsServer(t, durable());
  const { topics, socket, events } = connect(t, url);
  const seqs: number[] = [];
  const sub = topics.subscribe("d:feed", {}, (_data, offset) => seqs.push(seqOf(offset)));
  await within(sub.ready, "subscribed", 10_000);
  const publish = async (from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i++) await wss.publishDurable("d:feed", i);
  };
  await publish(1, 50);
  await waitUntil(() => seqs.length === 50, "the first 50 messages");
  const offline = next<OfflineEvent>(socket, "offline");
  cut(wss);
  assert.equal((await offline).code, 1006);
  // While the client is away, then while it replays: both must arrive once, in order.
  await publish(51, 150);
  const online = next<OnlineEvent>(socket, "online");
  const resumed = next<TopicResumedEvent>(topics, "resumed");
  assert.equal((await online).reconnected, true);
  await publish(151, 200);
  const r = await resumed;
  assert.equal(r.topic, "d:feed");
  assert.ok(r.replayed >= 100, `replayed ${r.replayed}`);
  await waitUntil(() => seqs.length >= 200, "all 200 messages", 10_000);
  assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(sub.offset !== null && seqOf(sub.offset), 200);
  assert.deepEqual(events.filter((e) => e !== "resumed"), ["online", "offline", "online"]);
});

test("history that no longer reaches the client's offset: unrecoverable (truncated), then the subscription goes on live", async (t) => {
  const { wss, url } = await topicsServer(t, durable({ history: new MemoryHistory({ maxCount: 10 }) }));
  const { topics, socket } = connect(t, url);
  const seqs: number[] = [];
  const sub = topics.subscribe("d:small", {}, (_d, offset) => seqs.push(seqOf(offset)));
  await sub.ready;
  for (let i = 1; i <= 5; i++) await wss.publishDurable("d:small", i);
  await waitUntil(() => seqs.length === 5, "5 messages");
  const offline = next(socket, "offline");
  cut(wss);
  await offline;
  for (let i = 6; i <= 30; i++) await wss.publishDurable("d:small", i);
  // Both frames may come in one read: listen for both first.
  const resumed = next(topics, "resumed");
  const unrecoverable = await next<TopicUnrecoverableEvent>(topics, "unrecoverable");
  assert.equal(unrecoverable.topic, "d:small");
  assert.equal(unrecoverable.reason, "truncated");
  assert.equal(seqOf(unrecoverable.from), 5);
  await resumed;
  // What history still has (the last 10), with nothing repeated.
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, ...Array.from({ length: 10 }, (_, i) => 21 + i)]);
  await wss.publishDurable("d:small", 31);
  await waitUntil(() => seqs.at(-1) === 31, "live again");
});

test("a topic empty when subscribed still gets, after a reconnection, what was published while away", async (t) => {
  const { wss, url } = await topicsServer(t, durable());
  const { topics, socket } = connect(t, url);
  const seqs: number[] = [];
  const sub = topics.subscribe("d:empty", {}, (_d, offset) => seqs.push(seqOf(offset)));
  await sub.ready;
  assert.equal(sub.offset, null);
  const offline = next(socket, "offline");
  cut(wss);
  await offline;
  for (let i = 1; i <= 3; i++) await wss.publishDurable("d:empty", i);
  await next(topics, "resumed");
  assert.deepEqual(seqs, [1, 2, 3]);
});

test("publish while offline waits in the queue and is acked after the reconnection; a publish whose connection is lost before its ack rejects 'disconnected'", async (t) => {
  // `authorize` for "pub" is held until the test lets it go, so an ack can be outstanding.
  let hold = false;
  const held: Array<() => void> = [];
  const { wss, url } = await topicsServer(t, durable({ authorize: (_s, action) => (action === "pub" && hold ? new Promise<boolean>((r) => held.push(() => r(true))) : true) }));
  const { topics, socket } = connect(t, url);
  await next(socket, "online");
  const seen: unknown[] = [];
  await topics.subscribe("d:q", {}, (d) => seen.push(d)).ready;

  let queued!: Promise<string | null>;
  socket.addEventListener("offline", () => (queued = topics.publish("d:q", "while away")), { once: true });
  const offline = next(socket, "offline");
  cut(wss);
  await offline;
  const offset = await within(queued, "the queued publish's ack", 10_000);
  assert.equal(seqOf(offset), 1);
  await waitUntil(() => seen.length === 1, "the queued message delivered");

  hold = true;
  const pending = topics.publish("d:q", "outcome unknown");
  await waitUntil(() => held.length === 1, "the server to hold the publish");
  cut(wss);
  await assert.rejects(pending, (err: TopicClientError) => err instanceof TopicClientError && err.code === "disconnected");
  held[0]();
});

test("server errors: a refused subscription rejects ready and fires error; a refused publish rejects with the server's code", async (t) => {
  const { url } = await topicsServer(t, durable({ authorize: (_s, action, topic) => !topic.startsWith("d:secret") && action === "sub" }));
  const { topics } = connect(t, url);
  const error = next<Event & { code: string; topic?: string }>(topics, "error");
  const sub = topics.subscribe("d:secret", {}, () => {});
  await assert.rejects(sub.ready, (err: TopicClientError) => err.code === "forbidden" && err.topic === "d:secret");
  const e = await error;
  assert.equal(e.code, "forbidden");
  await assert.rejects(topics.publish("d:open", 1), (err: TopicClientError) => err.code === "forbidden");
});

test("close(): pending publishes and unconfirmed subscriptions reject 'closed'; publishing after close rejects", async (t) => {
  const { url } = await topicsServer(t, durable());
  const { topics, socket } = connect(t, url);
  const sub = topics.subscribe("d:x", {}, () => {});
  const pub = topics.publish("d:x", 1); // queued: not yet connected
  const closed = next(socket, "close");
  topics.close();
  // The attempt in progress is aborted; `close` fires once it is.
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSING);
  await closed;
  assert.equal(socket.readyState, ReconnectingWebSocket.CLOSED);
  await assert.rejects(pub, (err: TopicClientError) => err.code === "closed");
  await assert.rejects(sub.ready, (err: TopicClientError) => err.code === "closed");
  await assert.rejects(topics.publish("d:x", 2), (err: Error & { code?: string }) => err.code === "closed");
  assert.throws(() => topics.subscribe("d:y", {}, () => {}), /closed/);
});

test("the server restarts with a new history (another epoch): unrecoverable 'epoch', then the new epoch's messages from its start", async (t) => {
  const first = await topicsServer(t, durable());
  const port = first.wss.port;
  const { topics, socket } = connect(t, first.url);
  const got: Array<string | null> = [];
  const sub = topics.subscribe("d:e", {}, (_d, offset) => got.push(offset));
  await sub.ready;
  await first.wss.publishDurable("d:e", 1);
  await waitUntil(() => got.length === 1, "the first message");
  const offline = next(socket, "offline");
  for (const ws of first.wss.clients) ws.terminate();
  await first.wss.close();
  await offline;
  const second = new WebSocketServer({ port, host: "127.0.0.1", ...durable() });
  t.after(async () => {
    for (const ws of second.clients) ws.terminate();
    await second.close();
  });
  await second.ready();
  const before = await second.publishDurable("d:e", "published before the client is back");
  const unrecoverable = next<TopicUnrecoverableEvent>(topics, "unrecoverable");
  const resumed = next<TopicResumedEvent>(topics, "resumed");
  const u = await unrecoverable;
  assert.equal(u.reason, "epoch");
  assert.equal(u.from, got[0]);
  await resumed;
  const live = await second.publishDurable("d:e", "live");
  await waitUntil(() => got.includes(live), "the live message of the new epoch");
  // The new lineage is replayed from its start: what was said before the client came back
  // arrives, once, before the live message.
  assert.deepEqual(got.slice(1), [before, live]);
});

test("binary publishes on an ephemeral topic reach wsx.topics.v1 subscribers as bytes; a durable topic refuses bytes that are not UTF-8", async (t) => {
  const { wss, url } = await topicsServer(t, durable());
  const { topics } = connect(t, url);
  const got: unknown[] = [];
  const sub = topics.subscribe("bytes", {}, (data, offset) => got.push([data, offset]));
  await within(sub.ready, "subscribed", 10_000);
  // Every byte value, so a text round trip (which would mangle 0x80-0xff) cannot pass.
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(wss.publish("bytes", all), 1);
  assert.equal(wss.publish("bytes", new Uint8Array(0)), 1);
  await waitUntil(() => got.length === 2, "both binary messages");
  assert.deepEqual(got, [[new Uint8Array(all), null], [new Uint8Array(0), null]]);
  // Durable topics store text: UTF-8 bytes are stored as their text, other bytes are refused.
  const stored: unknown[] = [];
  const d = topics.subscribe("d:log", {}, (data) => stored.push(data));
  await within(d.ready, "subscribed", 10_000);
  assert.throws(() => wss.publish("d:log", Buffer.from([0x68, 0xff])), (e: unknown) => e instanceof TypeError && /not UTF-8/.test(e.message));
  assert.equal(wss.publish("d:log", Buffer.from("{\"héllo\":1}")), 0);
  await waitUntil(() => stored.length === 1, "the stored message");
  assert.deepEqual(stored, [{ héllo: 1 }]);
});
