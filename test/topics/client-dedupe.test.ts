// The topic client's own guarantees, against a scripted wsx.topics.v1 peer that misbehaves
// on purpose (the real server never repeats a message): a replay overlapping what was seen
// is dropped, another epoch is accepted, `from` is the last offset held, and frames the
// client cannot read are reported without harm.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TopicErrorEvent, TopicResumedEvent, TopicUnrecoverableEvent } from "../../src/client/reconnect/events.js";
import { ReconnectingWebSocket } from "../../src/client/reconnect/node.js";
import { TopicClient, TOPICS_PROTOCOL } from "../../src/client/reconnect/topic-client.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { waitUntil } from "../helpers/time.js";

type Frame = Record<string, unknown>;

test("overlapping replays and repeated live messages are delivered once; a new epoch is accepted; resume asks from the last offset held", async (t) => {
  const subs: Frame[] = [];
  let connection = 0;
  const msg = (ws: ServerWebSocket<unknown>, offset: string | null, data: unknown): void => void ws.send(JSON.stringify({ op: "msg", topic: "feed", offset, data }));
  const frame = (ws: ServerWebSocket<unknown>, f: Frame): void => void ws.send(JSON.stringify(f));
  // Each connection answers its `sub` with a scripted replay.
  const scripts: Array<(ws: ServerWebSocket<unknown>) => void> = [
    (ws) => {
      for (const seq of [1, 2, 3]) msg(ws, `e1-${seq}`, seq);
      frame(ws, { op: "subscribed", topic: "feed", offset: "e1-3" });
    },
    (ws) => {
      // Replays from further back than asked, then repeats a live message.
      for (const seq of [2, 3, 4]) msg(ws, `e1-${seq}`, seq);
      frame(ws, { op: "subscribed", topic: "feed", offset: "e1-4" });
      msg(ws, "e1-4", 4);
      msg(ws, "e1-5", 5);
      msg(ws, "e1-5", 5);
      // Frames the client cannot read, and one for a topic it does not have.
      ws.send("not json");
      ws.send(new Uint8Array([1, 2, 3]), true);
      msg(ws, "e1-6", "x");
      ws.send(JSON.stringify({ op: "msg", topic: "other", offset: "e1-1", data: 0 }));
    },
    (ws) => {
      // The server's history was reset: a new epoch, told first.
      frame(ws, { op: "unrecoverable", topic: "feed", from: "e1-6", reason: "epoch" });
      msg(ws, "e2-1", "a");
      msg(ws, "e2-2", "b");
      frame(ws, { op: "subscribed", topic: "feed", offset: "e2-2" });
    },
  ];
  const server = await startEchoServer(t, {
    protocols: [TOPICS_PROTOCOL],
    open: () => void connection++,
    message(ws, data) {
      const f = JSON.parse(String(data)) as Frame;
      if (f.op === "sub") {
        subs.push(f);
        scripts[connection - 1](ws);
      }
    },
  });
  const socket = new ReconnectingWebSocket(server.url, TOPICS_PROTOCOL, { initialDelay: 10 });
  t.after(() => socket.close());
  const topics = new TopicClient(socket);
  const got: unknown[] = [];
  const events: Event[] = [];
  for (const type of ["resumed", "unrecoverable", "error"]) topics.addEventListener(type, (e) => events.push(e));
  const sub = topics.subscribe("feed", {}, (data) => got.push(data));
  await sub.ready;
  assert.deepEqual(got, [1, 2, 3]);

  server.wss.clients.forEach((ws) => ws.terminate());
  await waitUntil(() => got.length === 6 && events.filter((e) => e.type === "error").length === 2, "the second connection's frames");
  assert.deepEqual(got, [1, 2, 3, 4, 5, "x"]);
  assert.equal(sub.offset, "e1-6");
  const resumed = events.find((e) => e.type === "resumed") as TopicResumedEvent;
  assert.equal(resumed.replayed, 1, "only e1-4 was new in the replay");
  assert.ok(events.filter((e) => e.type === "error").every((e) => (e as TopicErrorEvent).code === "bad-frame"));

  server.wss.clients.forEach((ws) => ws.terminate());
  await waitUntil(() => events.filter((e) => e.type === "resumed").length === 2, "the third connection's resume");
  assert.deepEqual(got, [1, 2, 3, 4, 5, "x", "a", "b"]);
  const unrecoverable = events.find((e) => e.type === "unrecoverable") as TopicUnrecoverableEvent;
  assert.deepEqual([unrecoverable.topic, unrecoverable.from, unrecoverable.reason], ["feed", "e1-6", "epoch"]);
  assert.deepEqual(
    subs.map((f) => f.from),
    [undefined, "e1-3", "e1-6"],
  );
  assert.equal(sub.offset, "e2-2");
});
