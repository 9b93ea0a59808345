// Durable topics in `wss.stats()` and the Prometheus text: subscriptions (a gauge that falls
// when a subscriber leaves), appends, deliveries (replayed and live), unrecoverable signals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { formatPrometheus } from "../../src/server/prometheus.js";
import { WebSocketServer } from "../../src/server/server.js";
import { waitUntil } from "../helpers/time.js";
import { connectTopics, topicsServer } from "./helpers.js";

test("stats().durable counts subscriptions, appends, deliveries and unrecoverable signals; Prometheus shows them", async (t) => {
  // A history that keeps 3 messages per topic, so an old position is unrecoverable.
  const { wss, url } = await topicsServer(t, { topics: { durable: /^d:/, authorize: () => true, history: new MemoryHistory({ maxCount: 3 }) } });
  assert.deepEqual(wss.stats().durable, { subscriptions: 0, sseStreams: 0, appended: 0, delivered: 0, unrecoverable: 0 });
  const a = await connectTopics(t, url);
  a.send({ op: "sub", topic: "d:x" });
  await a.next((f) => f.op === "subscribed", "a subscribed");
  const first = await wss.publishDurable("d:x", 1);
  for (let i = 2; i <= 5; i++) await wss.publishDurable("d:x", i);
  await waitUntil(() => a.messages("d:x").length === 5, "5 live messages");
  let s = wss.stats().durable;
  assert.deepEqual(s, { subscriptions: 1, sseStreams: 0, appended: 5, delivered: 5, unrecoverable: 0 });
  // A second subscriber from the first offset: 1 is gone (3 kept), so one signal, then 3 replayed.
  const b = await connectTopics(t, url);
  b.send({ op: "sub", topic: "d:x", from: first });
  await b.next((f) => f.op === "subscribed", "b subscribed");
  assert.equal(b.messages("d:x").length, 3);
  s = wss.stats().durable;
  assert.deepEqual(s, { subscriptions: 2, sseStreams: 0, appended: 5, delivered: 8, unrecoverable: 1 });
  const text = formatPrometheus(wss.stats());
  assert.match(text, /^wsx_durable_subscriptions 2$/m);
  assert.match(text, /^wsx_durable_appended_total 5$/m);
  assert.match(text, /^wsx_durable_delivered_total 8$/m);
  assert.match(text, /^wsx_durable_unrecoverable_total 1$/m);
  b.ws.close();
  await waitUntil(() => wss.stats().durable.subscriptions === 1, "b's subscription ended");
});

test("a server without durable topics reports zeros", async (t) => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  t.after(() => wss.close());
  await wss.ready();
  assert.deepEqual(wss.stats().durable, { subscriptions: 0, sseStreams: 0, appended: 0, delivered: 0, unrecoverable: 0 });
  assert.match(formatPrometheus(wss.stats()), /^wsx_sse_streams 0$/m);
});
