// The frames the topic client sends, over hand-driven sockets: subscriptions go before what
// was queued offline, resume asks `from` the last offset (or `last` for a topic that was
// empty), a lost connection rejects exactly the publishes it carried, the ack bound holds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReconnectingWebSocket } from "../../src/client/reconnect/reconnecting-websocket.js";
import { TopicClient, TopicClientError } from "../../src/client/reconnect/topic-client.js";
import { FakeTimers, fakeSockets } from "../client/reconnect-fakes.js";

function harness(maxPendingPublishes?: number) {
  const timers = new FakeTimers();
  const fakes = fakeSockets();
  const socket = new ReconnectingWebSocket("ws://example.test/", "wsx.topics.v1", { createWebSocket: fakes.create, timers, random: () => 0 });
  const topics = new TopicClient(socket, { maxPendingPublishes, resumeLast: 77 });
  const sent = (): unknown[] => fakes.last().sent.map((s) => JSON.parse(String(s)));
  const reply = (frame: object): void => fakes.last().receive(JSON.stringify(frame));
  /** Drops the connection and opens the next one. */
  const reconnect = (): void => {
    fakes.last().drop(1006);
    timers.fireOnly();
    fakes.last().open("wsx.topics.v1");
  };
  return { socket, topics, fakes, sent, reply, reconnect };
}

test("subscriptions made offline are sent on open, before publishes queued offline; resume uses from, or last for an empty topic", async () => {
  const h = harness();
  const seen: unknown[] = [];
  h.topics.subscribe("a", { last: 5 }, (d) => seen.push(d));
  h.topics.subscribe("b", {}, () => {});
  h.topics.subscribe("c", { from: "e1-9" }, () => {});
  const pub = h.topics.publish("a", { x: 1 });
  h.fakes.last().open("wsx.topics.v1");
  assert.deepEqual(h.sent(), [
    { op: "sub", topic: "a", last: 5 },
    { op: "sub", topic: "b" },
    { op: "sub", topic: "c", from: "e1-9" },
    { op: "pub", topic: "a", data: { x: 1 }, id: "1" },
  ]);
  h.reply({ op: "msg", topic: "a", offset: "e1-4", data: 4 });
  h.reply({ op: "subscribed", topic: "a", offset: "e1-4" });
  h.reply({ op: "subscribed", topic: "b", offset: null });
  h.reconnect();
  await assert.rejects(pub, (err: TopicClientError) => err.code === "disconnected", "its connection was lost before the ack");
  assert.deepEqual(h.sent(), [
    { op: "sub", topic: "a", from: "e1-4" },
    { op: "sub", topic: "b", last: 77 }, // empty when subscribed: what came meanwhile is all new
    { op: "sub", topic: "c", from: "e1-9" }, // never confirmed: asked again as first asked
  ]);
  assert.deepEqual(seen, [4]);
});

test("subscribe checks its arguments: a malformed from or last is a TypeError, not a silent live-only subscription", () => {
  const h = harness();
  assert.throws(() => h.topics.subscribe("a", { from: "nope" }, () => {}), TypeError);
  assert.throws(() => h.topics.subscribe("a", { from: "e1-0" }, () => {}), TypeError);
  assert.throws(() => h.topics.subscribe("a", { last: -1 }, () => {}), TypeError);
  assert.throws(() => h.topics.subscribe("a", { last: 1.5 }, () => {}), TypeError);
  assert.throws(() => h.topics.subscribe("", {}, () => {}), TypeError);
  h.topics.subscribe("a", { from: "e1-1" }, () => {});
  h.socket.close();
});

test("unsubscribe sends unsub only when connected, and the topic is not resumed", () => {
  const h = harness();
  const sub = h.topics.subscribe("a", {}, () => {});
  h.fakes.last().open();
  sub.unsubscribe();
  assert.deepEqual(h.sent().at(-1), { op: "unsub", topic: "a" });
  const offline = h.topics.subscribe("b", {}, () => {});
  h.fakes.last().drop(1006);
  offline.unsubscribe();
  h.reconnect();
  assert.deepEqual(h.sent(), []);
  h.reply({ op: "msg", topic: "b", offset: "e1-1", data: 1 }); // late: ignored
});

test("a lost connection rejects the publishes it carried ('disconnected'); those still queued go out on the next one and resolve", async () => {
  const h = harness();
  h.fakes.last().open();
  const carried = h.topics.publish("t", 1);
  h.fakes.last().drop(1006);
  await assert.rejects(carried, (err: TopicClientError) => err instanceof TopicClientError && err.code === "disconnected");
  const queued = h.topics.publish("t", 2);
  h.reconnect(); // (the drop event of a socket already gone is ignored)
  assert.deepEqual(h.sent(), [{ op: "pub", topic: "t", data: 2, id: "2" }]);
  h.reply({ op: "ack", id: "2", offset: "e1-1" });
  assert.equal(await queued, "e1-1");
});

test("maxPendingPublishes bounds the publishes awaiting an ack; an error frame with the id rejects that one", async () => {
  const h = harness(2);
  h.fakes.last().open();
  const a = h.topics.publish("t", 1);
  const b = h.topics.publish("t", 2);
  await assert.rejects(h.topics.publish("t", 3), (err: TopicClientError) => err.code === "too-many-pending");
  h.reply({ op: "error", id: "2", topic: "t", code: "forbidden", message: "no" });
  await assert.rejects(b, (err: TopicClientError) => err.code === "forbidden" && err.message === "no");
  const c = h.topics.publish("t", 4);
  h.reply({ op: "ack", id: "1", offset: null });
  h.reply({ op: "ack", id: "3", offset: "e1-2" }); // the refused publish used no id
  assert.equal(await a, null);
  assert.equal(await c, "e1-2");
  h.reply({ op: "ack", id: "99", offset: null }); // unknown id: ignored
});
