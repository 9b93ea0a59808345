// Durable topics over Server-Sent Events: Chromium's own EventSource resuming by
// Last-Event-ID after a drop, heartbeats, several topics in one stream, refusals, and the
// bounded per-stream buffer (a reader that does not read is dropped with a clear end).
import assert from "node:assert/strict";
import { createServer, get, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test, type TestContext } from "node:test";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { WebSocketServer } from "../../src/server/server.js";
import type { TopicsOptions } from "../../src/server/topics-options.js";
import { launchChromium } from "../helpers/chromium.js";
import { componentOrSkip } from "../helpers/components.js";
import { scaled, waitUntil } from "../helpers/time.js";

const durable = (t: string): boolean => t.startsWith("d:");

/** An HTTP server with a blank page at / and SSE at /events (through `handleSse`), closed when `t` ends. */
async function sseServer(t: TestContext, topics: Partial<TopicsOptions<undefined>> = {}) {
  const history = new MemoryHistory();
  const lastEventIds: Array<string | undefined> = [];
  let wss: WebSocketServer<undefined> | null = null;
  const http: Server = createServer((req, res) => {
    if (req.url?.startsWith("/events")) lastEventIds.push(req.headers["last-event-id"] as string | undefined);
    if (wss!.handleSse(req, res)) return;
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>sse</title>");
  });
  wss = new WebSocketServer<undefined>({ server: http, topics: { durable, history, sse: { path: "/events", retryMs: 50, ...topics.sse }, ...topics } });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  t.after(async () => {
    await wss!.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });
  return { wss: wss as WebSocketServer<undefined>, http, history, lastEventIds, base: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

/** A raw SSE reader (node:http): the text received so far, and the response. */
function rawStream(t: TestContext, url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; text: () => string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { Accept: "text/event-stream", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      resolve({ res, text: () => text });
    });
    req.on("error", reject);
    t.after(() => req.destroy());
  });
}

/** The `id:` lines of a stream's text, in order. */
const ids = (text: string): string[] => [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);

describe("SSE", () => {
  test("Chromium's EventSource gets messages with their offsets as ids, and after a drop resumes by Last-Event-ID: all, in order, once", async (t) => {
    if (!(await componentOrSkip(t, "chromium"))) return;
    const { wss, history, base, lastEventIds } = await sseServer(t);
    const browser = await launchChromium({ t });
    const page = await browser.newPage();
    await page.goto(base + "/");
    await page.evaluate(() => {
      const g = globalThis as unknown as { log: Array<{ type: string; id: string; data: string }>; EventSource: new (url: string) => { addEventListener(type: string, f: (e: { lastEventId: string; data: string }) => void): void } };
      g.log = [];
      const es = new g.EventSource("/events?topic=d:sse");
      for (const type of ["message", "subscribed", "unrecoverable", "error"]) es.addEventListener(type, (e) => g.log.push({ type, id: e.lastEventId, data: e.data }));
    });
    type Log = Array<{ type: string; id: string; data: string }>;
    const log = (): Promise<Log> => page.evaluate(() => (globalThis as unknown as { log: Log }).log);
    const messages = async (): Promise<Log> => (await log()).filter((e) => e.type === "message");
    await waitUntil(() => wss.subscriberCount("d:sse") === 1, "the EventSource subscribed");
    for (let i = 1; i <= 5; i++) await wss.publishDurable("d:sse", { i });
    // A function, not a string, for the page (no eval needed).
    const count = (n: number) =>
      page.waitForFunction((n) => (globalThis as unknown as { log: Log }).log.filter((e) => e.type === "message").length >= n, n, { timeout: scaled(10_000) });
    await count(5);
    let got = await messages();
    assert.equal(got.length, 5);
    assert.deepEqual(got.map((e) => e.id), [1, 2, 3, 4, 5].map((i) => `${history.epoch}-${i}`));
    assert.deepEqual(JSON.parse(got[0].data), { topic: "d:sse", offset: `${history.epoch}-1`, data: { i: 1 } });

    // Drop the stream (as a proxy or a network blip would) and publish while it is away.
    for (const s of wss.sse!["streams"] as Set<{ res: { socket: { destroy(): void } | null } }>) s.res.socket?.destroy();
    await waitUntil(() => wss.subscriberCount("d:sse") === 0, "the stream closed");
    for (let i = 6; i <= 10; i++) await wss.publishDurable("d:sse", { i });
    await count(10);
    got = await messages();
    assert.deepEqual(got.map((e) => JSON.parse(e.data).data.i), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(lastEventIds.at(-1), `${history.epoch}-5`, "the browser sent Last-Event-ID");
    assert.equal((await log()).filter((e) => e.type === "unrecoverable").length, 0);
  });

  test("heartbeats: a comment line every heartbeatMs keeps an idle stream alive; retry: comes first", async (t) => {
    const { base } = await sseServer(t, { sse: { path: "/events", heartbeatMs: 50, retryMs: 1234 } });
    const s = await rawStream(t, `${base}/events?topic=d:idle`);
    assert.equal(s.res.statusCode, 200);
    assert.match(String(s.res.headers["content-type"]), /^text\/event-stream/);
    await waitUntil(() => s.text().includes(": ping\n\n"), "a heartbeat");
    assert.ok(s.text().startsWith("retry: 1234\n\n"));
  });

  test("on a server wsx creates (port), SSE is served too, and a stream outlives the handshake timeout", async (t) => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handshakeTimeout: 300, topics: { durable, sse: { path: "/events", heartbeatMs: 50 } } });
    t.after(() => wss.close());
    await wss.ready();
    const s = await rawStream(t, `http://127.0.0.1:${wss.port}/events?topic=d:own`);
    assert.equal(s.res.statusCode, 200);
    // 12 heartbeats take at least 600 ms, twice the handshake (request) timeout.
    await waitUntil(() => (s.text().match(/: ping\n\n/g) ?? []).length >= 12, "12 heartbeats");
    assert.equal(s.res.complete, false, "still open");
    await wss.publishDurable("d:own", "late");
    await waitUntil(() => s.text().includes('"late"'), "a message after that");
    const other = await rawStream(t, `http://127.0.0.1:${wss.port}/other`);
    assert.equal(other.res.statusCode, 426);
  });

  test("several topics in one stream: the id carries every topic's offset; resuming with it replays each topic from its own offset", async (t) => {
    const { wss, history, base } = await sseServer(t);
    await wss.publishDurable("d:a", "a1");
    await wss.publishDurable("d:b", "b1");
    const s = await rawStream(t, `${base}/events?topic=d:a&topic=d:b`);
    await waitUntil(() => (s.text().match(/event: subscribed/g) ?? []).length === 2, "both subscribed");
    await wss.publishDurable("d:a", "a2");
    await waitUntil(() => s.text().includes('"a2"'), "a2");
    const last = ids(s.text()).at(-1)!;
    assert.equal(last, `${history.epoch}-2.${history.epoch}-1`);
    s.res.destroy();
    await wss.publishDurable("d:b", "b2");
    await wss.publishDurable("d:a", "a3");
    const again = await rawStream(t, `${base}/events?topic=d:a&topic=d:b`, { "Last-Event-ID": last });
    await waitUntil(() => (again.text().match(/event: subscribed/g) ?? []).length === 2, "both subscribed");
    const data = [...again.text().matchAll(/^event: message\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]).data);
    assert.deepEqual(data.sort(), ["a3", "b2"]);
  });

  test("refusals: no topic, an ephemeral topic, a malformed Last-Event-ID, a denied topic, a wrong method", async (t) => {
    const { base } = await sseServer(t, { authorize: (_s, _a, topic) => topic !== "d:secret" });
    const status = async (path: string, headers: Record<string, string> = {}): Promise<number> => (await rawStream(t, base + path, headers)).res.statusCode!;
    assert.equal(await status("/events"), 400);
    assert.equal(await status("/events?topic=ephemeral"), 400);
    assert.equal(await status("/events?topic=d:x", { "Last-Event-ID": "garbage!" }), 400);
    assert.equal(await status("/events?topic=d:secret"), 403);
    const post = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/events?topic=d:x`, { method: "POST" }, (res) => resolve(res.statusCode!));
      req.on("error", reject);
      req.end();
    });
    assert.equal(post, 405);
    // Request targets `new URL` would throw on are just not this endpoint's.
    const { connect } = await import("node:net");
    const raw = connect(Number(new URL(base).port), "127.0.0.1");
    t.after(() => raw.destroy());
    let answer = "";
    raw.on("data", (d) => (answer += d.toString()));
    raw.write("GET //[ HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitUntil(() => answer.includes("\r\n\r\n"), "an answer");
    assert.match(answer, /^HTTP\/1\.1 200/);
  });

  test("a reader that stops reading is dropped once maxBuffered bytes wait for it; the server holds no more than that", async (t) => {
    const { wss, base } = await sseServer(t, { sse: { path: "/events", maxBuffered: 64 * 1024 } });
    const s = await rawStream(t, `${base}/events?topic=d:flood`);
    await waitUntil(() => wss.subscriberCount("d:flood") === 1, "subscribed");
    s.res.pause();
    s.res.socket.pause();
    const big = "x".repeat(16 * 1024);
    let n = 0;
    // Publish until the server drops the stream (the kernel buffers take some first).
    while (wss.subscriberCount("d:flood") === 1 && n < 20_000) {
      await wss.publishDurable("d:flood", big);
      n++;
      if (n % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(wss.subscriberCount("d:flood"), 0, `dropped after ${n} messages`);
    s.res.resume();
    s.res.socket.resume();
    await waitUntil(() => s.res.complete, "the response ended");
    assert.match(s.text(), /event: overflow\n/);
  });
});
