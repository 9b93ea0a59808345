// Durable topics on one server over wsx.topics.v1: resume with no gap and no duplicate,
// unrecoverable when truncated or from another epoch, last-N replay, authorization,
// ephemeral topics through the same protocol, and the server API (`ws.subscribe(topic, {from})`).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HistoryUnavailableError, type HistoryRead, type ReadPosition } from "../../src/server/history.js";
import { MemoryHistory } from "../../src/server/memory-history.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import type { UnrecoverableEvent } from "../../src/server/topics-options.js";
import { waitUntil } from "../helpers/time.js";
import { connectTopics, seqOf, topicsServer, type TopicFrame } from "./helpers.js";

const durable = (t: string): boolean => t.startsWith("d:");

describe("wsx.topics.v1 on one server (memory history)", () => {
  test("publish, subscribe live, resume from an offset after a reconnect: in order, no gap, no duplicate", async (t) => {
    const { wss, url } = await topicsServer(t, { topics: { durable, authorize: () => true } });
    const a = await connectTopics(t, url);
    a.send({ op: "sub", topic: "d:room" });
    const sub = await a.next((f) => f.op === "subscribed", "subscribed");
    assert.equal(sub.offset, null, "empty history");
    for (let i = 1; i <= 5; i++) a.send({ op: "pub", topic: "d:room", data: { i }, id: `p${i}` });
    await waitUntil(() => a.messages("d:room").length === 5, "5 live messages");
    const acks = a.frames.filter((f) => f.op === "ack");
    assert.deepEqual(acks.map((f) => seqOf(f.offset)), [1, 2, 3, 4, 5]);
    const got = a.messages("d:room");
    assert.deepEqual(got.map((f) => (f.data as { i: number }).i), [1, 2, 3, 4, 5]);
    const lastSeen = got[2].offset!; // pretend the client saw only 3
    a.ws.close();
    // Published while away, from the server API.
    for (let i = 6; i <= 8; i++) await wss.publishDurable("d:room", { i });
    const b = await connectTopics(t, url);
    b.send({ op: "sub", topic: "d:room", from: lastSeen });
    const done = await b.next((f) => f.op === "subscribed", "subscribed after replay");
    assert.equal(seqOf(done.offset), 8);
    const replay = b.messages("d:room");
    assert.deepEqual(replay.map((f) => (f.data as { i: number }).i), [4, 5, 6, 7, 8]);
    assert.ok(b.frames.indexOf(done) > b.frames.indexOf(replay.at(-1)!), "subscribed follows the replay");
    wss.publish("d:room", JSON.stringify({ i: 9 }));
    await waitUntil(() => b.messages("d:room").length === 6, "live after replay");
    assert.equal(seqOf(b.messages("d:room")[5].offset), 9);
  });

  test("messages published during a replay come once, in order (live ones buffered, deduped by seq)", async (t) => {
    const history = new MemoryHistory({ maxCount: 100_000 });
    const { wss, url } = await topicsServer(t, { topics: { durable, history, replayBatch: 50, maxReplayBuffer: 20 } });
    for (let i = 1; i <= 3000; i++) history.appendNow("d:x", String(i));
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "d:x", from: `${history.epoch}-1` });
    // Publish while the replay pages through (each page waits a turn of the event loop).
    let n = 3000;
    const pump = setInterval(() => {
      for (let k = 0; k < 40 && n < 4000; k++) void wss.publishDurable("d:x", ++n);
    }, 1);
    t.after(() => clearInterval(pump));
    await waitUntil(() => n === 4000, "4000 published");
    await waitUntil(() => c.messages("d:x").length >= 3999, "every message");
    const seqs = c.messages("d:x").map((f) => seqOf(f.offset));
    assert.equal(seqs.length, 3999);
    seqs.forEach((s, i) => assert.equal(s, i + 2, "in order, none missing or twice"));
    assert.deepEqual(c.messages("d:x").map((f) => f.data).slice(0, 2), [2, 3]);
    assert.equal(c.frames.filter((f) => f.op === "subscribed").length, 1);
  });

  test("a position the history no longer reaches gets unrecoverable/truncated, then what is kept, then subscribed", async (t) => {
    const history = new MemoryHistory({ maxCount: 10 });
    const { url } = await topicsServer(t, { topics: { durable, history } });
    for (let i = 1; i <= 30; i++) history.appendNow("d:t", String(i));
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "d:t", from: `${history.epoch}-5` });
    await c.next((f) => f.op === "subscribed", "subscribed");
    const u = c.frames.find((f) => f.op === "unrecoverable")!;
    assert.deepEqual(u, { op: "unrecoverable", topic: "d:t", from: `${history.epoch}-5`, reason: "truncated" });
    assert.deepEqual(c.messages("d:t").map((f) => seqOf(f.offset)), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    assert.ok(c.frames.indexOf(u) < c.frames.findIndex((f) => f.op === "msg"));
  });

  test("an offset of another epoch (a restarted server) gets unrecoverable/epoch, the new epoch from its start, then live", async (t) => {
    const history = new MemoryHistory();
    const { wss, url } = await topicsServer(t, { topics: { durable, history } });
    history.appendNow("d:t", "1");
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "d:t", from: "oldepoch-7" });
    const s = await c.next((f) => f.op === "subscribed", "subscribed");
    assert.deepEqual(c.frames[0], { op: "unrecoverable", topic: "d:t", from: "oldepoch-7", reason: "epoch" });
    assert.equal(s.offset, `${history.epoch}-1`);
    assert.deepEqual(c.messages("d:t").map((f) => [f.offset, f.data]), [[`${history.epoch}-1`, 1]]);
    await wss.publishDurable("d:t", "live");
    const m = await c.next((f) => f.op === "msg" && f.data === "live", "live message");
    assert.equal(m.offset, `${history.epoch}-2`);
  });

  test("last: N replays the N latest messages; neither from nor last is live only", async (t) => {
    const history = new MemoryHistory();
    const { url } = await topicsServer(t, { topics: { durable, history } });
    for (let i = 1; i <= 10; i++) history.appendNow("d:t", String(i));
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "d:t", last: 3 });
    c.send({ op: "sub", topic: "d:u" });
    await waitUntil(() => c.frames.filter((f) => f.op === "subscribed").length === 2, "both subscribed");
    assert.deepEqual(c.messages("d:t").map((f) => f.data), [8, 9, 10]);
    assert.deepEqual(c.frames.find((f) => f.op === "subscribed" && f.topic === "d:t")!.offset, `${history.epoch}-10`);
  });

  test("authorization: pub is denied by default; authorize decides sub and pub, asynchronously too, in order", async (t) => {
    const { url: url1 } = await topicsServer(t, { topics: { durable } });
    const c1 = await connectTopics(t, url1);
    c1.send({ op: "pub", topic: "d:t", data: 1, id: "x" });
    const e = await c1.next((f) => f.op === "error", "forbidden");
    assert.deepEqual([e.code, e.id, e.topic], ["forbidden", "x", "d:t"]);

    const { wss: wss2, url } = await topicsServer(t, {
      topics: {
        durable,
        authorize: async (_ws, action, topic) => {
          await new Promise((r) => setImmediate(r));
          return !topic.endsWith(":secret") && (action === "sub" || topic.startsWith("d:open"));
        },
      },
    });
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "d:secret" });
    c.send({ op: "sub", topic: "d:open" });
    c.send({ op: "pub", topic: "d:open", data: "hi", id: "1" });
    c.send({ op: "pub", topic: "d:closed", data: "no", id: "2" });
    await c.next((f) => f.op === "error" && f.id === "2", "pub denied");
    await c.next((f) => f.op === "msg", "message");
    const ops = c.frames.map((f: TopicFrame) => `${f.op}:${f.topic ?? ""}:${f.code ?? ""}`);
    assert.deepEqual(ops.slice(0, 2), ["error:d:secret:forbidden", "subscribed:d:open:"]);
    assert.ok(ops.includes("error:d:closed:forbidden"));
    // An unsub right after a sub still waiting on authorize applies after it.
    c.send({ op: "sub", topic: "d:later" });
    c.send({ op: "unsub", topic: "d:later" });
    c.send({ op: "sub", topic: "d:marker" });
    await c.next((f) => f.op === "subscribed" && f.topic === "d:marker", "marker");
    const [server] = wss2.clients;
    assert.deepEqual(server.topics.sort(), ["d:marker", "d:open"]);
    assert.ok(c.frames.some((f) => f.op === "ack" && f.id === "1" && seqOf(f.offset) === 1));
  });

  test("malformed frames get bad-request errors and the connection stays usable", async (t) => {
    const { url } = await topicsServer(t, { topics: { durable } });
    const c = await connectTopics(t, url);
    for (const bad of ["not json", "[1]", JSON.stringify({ op: "sub" }), JSON.stringify({ op: "sub", topic: "d:t", from: "nope" }), JSON.stringify({ op: "sub", topic: "d:t", last: -1 }), JSON.stringify({ op: "zap", topic: "t" }), JSON.stringify({ op: "sub", topic: "x".repeat(300) })]) c.ws.send(bad);
    await waitUntil(() => c.frames.length === 7, "7 errors");
    assert.ok(c.frames.every((f) => f.op === "error" && f.code === "bad-request"));
    c.send({ op: "sub", topic: "d:t" });
    await c.next((f) => f.op === "subscribed", "still works");
  });

  test("ephemeral topics over wsx.topics.v1: offset null, JSON data kept, plain subscribers get the bare text", async (t) => {
    let plain: ServerWebSocket<undefined> | null = null;
    const got: string[] = [];
    const { wss, url } = await topicsServer(t, {
      topics: { durable, authorize: () => true },
      open(ws) {
        if (ws.protocol === "") {
          plain = ws;
          ws.subscribe("e:chat");
        }
      },
    });
    const { WebSocket } = await import("../../src/client/websocket.js");
    const p = new WebSocket(url);
    t.after(() => p.close());
    p.addEventListener("message", (e) => got.push(String(e.data)));
    await waitUntil(() => plain !== null, "plain connection");
    const c = await connectTopics(t, url);
    c.send({ op: "sub", topic: "e:chat" });
    const s = await c.next((f) => f.op === "subscribed", "subscribed");
    assert.equal(s.offset, null);
    c.send({ op: "pub", topic: "e:chat", data: { hi: 1 }, id: "a" });
    await c.next((f) => f.op === "msg", "first message");
    wss.publish("e:chat", "not json");
    await waitUntil(() => c.messages("e:chat").length === 2 && got.length === 2, "both delivered");
    assert.deepEqual(c.messages("e:chat").map((f) => [f.offset, f.data]), [[null, { hi: 1 }], [null, "not json"]]);
    assert.deepEqual(got, ['{"hi":1}', "not json"]);
    assert.ok(c.frames.some((f) => f.op === "ack" && f.id === "a" && f.offset === null));
  });

  test("a store that cannot be reached: pub gets error/unavailable; sub from an offset gets unrecoverable/unavailable, then live", async (t) => {
    class Flaky extends MemoryHistory {
      down = true;
      override append(topic: string, data: string) {
        return this.down ? Promise.reject(new HistoryUnavailableError("store down")) : super.append(topic, data);
      }
      override read(topic: string, position: ReadPosition, limit: number): Promise<HistoryRead> {
        return this.down ? Promise.reject(new HistoryUnavailableError("store down")) : super.read(topic, position, limit);
      }
    }
    const history = new Flaky();
    const errors: unknown[] = [];
    const { wss, url } = await topicsServer(t, { topics: { durable, history, authorize: () => true } });
    wss.on("error", (e) => errors.push(e));
    const c = await connectTopics(t, url);
    c.send({ op: "pub", topic: "d:f", data: 1, id: "p1" });
    const e = await c.next((f) => f.op === "error", "error");
    assert.deepEqual([e.code, e.id, e.topic], ["unavailable", "p1", "d:f"]);
    c.send({ op: "sub", topic: "d:f", from: `${history.epoch}-3` });
    const s = await c.next((f) => f.op === "subscribed", "subscribed");
    assert.equal(s.offset, null);
    assert.deepEqual(c.frames.find((f) => f.op === "unrecoverable"), { op: "unrecoverable", topic: "d:f", from: `${history.epoch}-3`, reason: "unavailable" });
    history.down = false;
    await wss.publishDurable("d:f", "back");
    const m = await c.next((f) => f.op === "msg", "live again");
    assert.equal(m.data, "back");
    assert.ok(errors.length >= 2, "reported through the server's error event");
  });

  test("a throwing format hook closes that connection with 1011; the other subscribers keep getting messages", async (t) => {
    const { wss, url } = await topicsServer<{ bad: boolean }>(t, {
      upgrade: (req) => ({ bad: (req.url ?? "").includes("bad") }),
      topics: {
        durable,
        format: (_topic, offset, data) => {
          if (data.includes("boom")) throw new Error("format failed");
          return `${offset} ${data}`;
        },
        subscribed: () => {},
      },
      error: () => {},
      open: (ws) => void ws.subscribe(ws.data.bad ? "d:bad" : "d:good"),
    });
    const { WebSocket } = await import("../../src/client/websocket.js");
    const bad = new WebSocket(`${url}bad`);
    const good = new WebSocket(url);
    t.after(() => (bad.close(), good.close()));
    const got: string[] = [];
    let code = 0;
    good.addEventListener("message", (e) => got.push(String(e.data)));
    bad.addEventListener("close", (e) => (code = e.code));
    await waitUntil(() => wss.subscriberCount("d:bad") === 1 && wss.subscriberCount("d:good") === 1, "both subscribed");
    await wss.publishDurable("d:bad", "boom");
    await wss.publishDurable("d:good", "fine");
    await waitUntil(() => code !== 0 && got.length === 1, "1011 and the other message");
    assert.equal(code, 1011);
    assert.match(got[0], /-1 "fine"$/);
  });

  test("server API: ws.subscribe(topic, { from }) with format/unrecoverable/subscribed hooks", async (t) => {
    const history = new MemoryHistory({ maxCount: 5 });
    const events: UnrecoverableEvent[] = [];
    const subscribedAt: Array<string | null> = [];
    const got: string[] = [];
    const { wss, url } = await topicsServer<{ from?: string }>(t, {
      upgrade: (req) => ({ from: new URL(req.url!, "http://x").searchParams.get("from") ?? undefined }),
      topics: {
        durable,
        history,
        format: (topic, offset, data) => `${topic}|${offset}|${data}`,
        unrecoverable: (_ws, e) => events.push(e),
        subscribed: (_ws, _topic, offset) => subscribedAt.push(offset),
      },
      open(ws) {
        assert.throws(() => ws.subscribe("d:api", { from: "bad" }), RangeError);
        ws.subscribe("d:api", { from: ws.data.from });
      },
    });
    for (let i = 1; i <= 8; i++) history.appendNow("d:api", String(i));
    const { WebSocket } = await import("../../src/client/websocket.js");
    const p = new WebSocket(`${url}?from=${history.epoch}-2`);
    t.after(() => p.close());
    p.addEventListener("message", (e) => got.push(String(e.data)));
    await waitUntil(() => subscribedAt.length === 1, "subscribed hook");
    assert.deepEqual(events, [{ topic: "d:api", from: `${history.epoch}-2`, reason: "truncated" }]);
    // The hook runs on the server once the replay is queued; the client reads it afterwards.
    await waitUntil(() => got.length >= 5, "the replayed messages at the client");
    assert.deepEqual(got, [4, 5, 6, 7, 8].map((i) => `d:api|${history.epoch}-${i}|${i}`));
    assert.equal(subscribedAt[0], `${history.epoch}-8`);
    assert.equal(wss.subscriberCount("d:api"), 1);
    const [ws] = wss.clients;
    assert.deepEqual(ws.topics, ["d:api"]);
    assert.equal(ws.unsubscribe("d:api"), true);
    assert.equal(wss.subscriberCount("d:api"), 0);
  });
});
