// `wsx serve` mounts durable rooms: wsx.topics.v1 on /chat (read only), SSE at /events; with
// --redis the rooms' history lives in Redis Streams and outlives the server process.
import assert from "node:assert/strict";
import { get } from "node:http";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { componentOrSkip } from "../helpers/components.js";
import { startRedis } from "../helpers/redis.js";
import { waitUntil } from "../helpers/time.js";
import { serve } from "../cli/wsx.js";

interface Frame {
  type?: string;
  op?: string;
  text?: string;
  offset?: string | null;
  data?: { text?: string };
  code?: string;
}

/** A WebSocket to `url` collecting JSON frames; terminated when `t` ends. */
async function open(t: TestContext, url: string, protocol?: string) {
  const ws = protocol === undefined ? new WebSocket(url) : new WebSocket(url, protocol);
  t.after(() => ws.terminate());
  const frames: Frame[] = [];
  ws.on("message", (d: Buffer) => frames.push(JSON.parse(d.toString()) as Frame));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}

test("wsx serve: a room's messages over wsx.topics.v1 on /chat and as SSE at /events; pub is forbidden", async (t) => {
  const s = await serve(t, ["--quiet"]);
  const ann = await open(t, `ws://${s.host}/chat`);
  ann.send({ type: "join", room: "lobby", name: "ann" });
  ann.send({ type: "say", text: "hello" });
  ann.send({ type: "say", text: "again" });
  await waitUntil(() => ann.frames.filter((f) => f.type === "message").length === 2, "said");
  const offset = ann.frames.find((f) => f.type === "message")!.offset!;

  const reader = await open(t, `ws://${s.host}/chat`, "wsx.topics.v1");
  assert.equal(reader.ws.protocol, "wsx.topics.v1");
  reader.send({ op: "sub", topic: "room:lobby", last: 10 });
  reader.send({ op: "pub", topic: "room:lobby", data: "x", id: "1" });
  await waitUntil(() => reader.frames.some((f) => f.op === "subscribed") && reader.frames.some((f) => f.op === "error"), "subscribed and refused");
  assert.deepEqual(reader.frames.filter((f) => f.op === "msg").map((f) => f.data?.text), ["hello", "again"]);
  const msg = reader.frames.find((f) => f.op === "msg")!;
  assert.deepEqual([msg.offset, msg.data?.text], [offset, "hello"]);
  assert.equal(reader.frames.find((f) => f.op === "error")!.code, "forbidden");

  const text = await new Promise<string>((resolve, reject) => {
    const req = get(`http://${s.host}/events?topic=room:lobby`, { headers: { "Last-Event-ID": offset } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
        if (body.includes("event: subscribed")) (req.destroy(), resolve(body));
      });
    });
    req.on("error", reject);
  });
  assert.match(text, /^retry: \d+\n\n/);
  // Resumed after "hello": only "again" is replayed.
  const events = [...text.matchAll(/^event: message\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1]) as { data: { text: string } }).data.text);
  assert.deepEqual(events, ["again"]);
});

test("wsx serve --redis: a room's history outlives the server; a member rejoining another node with from gets what it missed", async (t) => {
  if (!(await componentOrSkip(t, "redis-server"))) return;
  const redis = await startRedis({ t });
  const first = await serve(t, ["--redis", redis.url, "--quiet"]);
  const ann = await open(t, `ws://${first.host}/chat`);
  ann.send({ type: "join", room: "kept", name: "ann" });
  for (const text of ["one", "two", "three"]) ann.send({ type: "say", text });
  await waitUntil(() => ann.frames.filter((f) => f.type === "message").length === 3, "3 said");
  const seen = ann.frames.filter((f) => f.type === "message")[0].offset!;
  await first.child.kill("SIGTERM");

  const second = await serve(t, ["--redis", redis.url, "--quiet"]);
  const bob = await open(t, `ws://${second.host}/chat`);
  bob.send({ type: "join", room: "kept", name: "bob" });
  await waitUntil(() => bob.frames.filter((f) => f.type === "message").length === 3, "recent history from Redis");
  const back = await open(t, `ws://${second.host}/chat`);
  back.send({ type: "join", room: "kept", name: "ann", from: seen });
  await waitUntil(() => back.frames.filter((f) => f.type === "message").length === 2, "two and three");
  assert.deepEqual(back.frames.filter((f) => f.type === "message").map((f) => f.text), ["two", "three"]);
  assert.equal(back.frames.some((f) => f.type === "unrecoverable"), false);
});

test("wsx serve --http2: a room's SSE stream over HTTP/2 (no connection-specific headers), resumable", async (t) => {
  const s = await serve(t, ["--http2", "--quiet"], "https");
  const { connect } = await import("node:http2");
  const session = connect(`https://${s.host}`, { rejectUnauthorized: false });
  t.after(() => session.destroy());
  session.on("error", () => {});
  const stream = session.request({ ":path": "/events?topic=room:h2", accept: "text/event-stream" });
  let status = 0;
  let body = "";
  stream.on("response", (h) => (status = Number(h[":status"])));
  stream.setEncoding("utf8");
  stream.on("data", (c: string) => (body += c));
  await waitUntil(() => body.includes("event: subscribed"), "subscribed over h2");
  assert.equal(status, 200);
  assert.match(body, /^retry: \d+\n\n/);
  // A live message reaches the HTTP/2 stream (its buffered bytes are read from the h2 stream).
  const ws = new WebSocket(`wss://${s.host}/chat`, { rejectUnauthorized: false });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
  ws.send(JSON.stringify({ type: "join", room: "h2", name: "ann" }));
  ws.send(JSON.stringify({ type: "say", text: "over h2" }));
  await waitUntil(() => body.includes('"over h2"'), "the message over h2");
  assert.doesNotMatch(body, /event: overflow/);
  stream.close();
});
