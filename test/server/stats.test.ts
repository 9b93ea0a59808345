/**
 * `wss.stats()` counts what happened on the wire, and `formatPrometheus` turns it into an
 * exposition that parses and carries the same numbers.
 */
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { HandshakeError } from "../../src/protocol/errors.js";
import type { PubSubAdapter } from "../../src/server/adapter.js";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "../../src/server/prometheus.js";
import { WebSocketServer } from "../../src/server/server.js";
import { parsePrometheus } from "../helpers/prometheus.js";

/** Opens a `ws` client; resolves when open, with every message it gets. */
function client(t: TestContext, url: string, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; got: Buffer[]; next(): Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    t.after(() => ws.terminate());
    const got: Buffer[] = [];
    const waiting: Array<(b: Buffer) => void> = [];
    ws.on("message", (d: Buffer) => {
      got.push(d);
      waiting.shift()?.(d);
    });
    ws.once("open", () =>
      resolve({
        ws,
        got,
        next: () => new Promise<Buffer>((r) => waiting.push(r)),
      }),
    );
    ws.once("error", reject);
  });
}

/** Sends a raw HTTP request head and resolves with the status code of the response. */
function rawStatus(t: TestContext, port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, "127.0.0.1");
    t.after(() => s.destroy());
    let text = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      text += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m !== null) {
        resolve(Number(m[1]));
        s.destroy();
      }
    });
    s.on("error", reject);
    s.write(head);
  });
}

const upgradeHead = (headers: Record<string, string>): string =>
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
  Object.entries({ Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13", ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("") +
  "\r\n";

test("stats() counts handshakes by outcome, messages and bytes both ways, publishes and their deliveries", async (t) => {
  let serverClosed: () => void = () => {};
  const wss = new WebSocketServer({
    close: () => serverClosed(),
    port: 0,
    host: "127.0.0.1",
    origins: ["http://good.example"],
    upgrade: (req) => {
      if (req.url?.includes("deny")) throw new HandshakeError(401, "no token");
      return undefined;
    },
    open: (ws) => void ws.subscribe("all"),
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
  });
  t.after(() => wss.close());
  await wss.ready();
  const url = `ws://127.0.0.1:${wss.port}/`;
  const fresh = wss.stats();
  assert.equal(fresh.connections, 0);
  assert.equal(fresh.messagesIn, 0);

  assert.equal(await rawStatus(t, wss.port, upgradeHead({ Origin: "http://evil.example" })), 403);
  assert.equal(await rawStatus(t, wss.port, upgradeHead({ Origin: "http://good.example", "Sec-WebSocket-Version": "8" })), 426);
  assert.equal(await rawStatus(t, wss.port, upgradeHead({ Origin: "http://good.example" }).replace("GET / ", "GET /deny ")), 401);

  const a = await client(t, url, { origin: "http://good.example" });
  const b = await client(t, url, { origin: "http://good.example" });
  // Text of every frame header size (2, 4 and 10 bytes: RFC 6455 §5.2) and its edges,
  // non-ASCII text (UTF-8 bytes, not characters), and one binary message, echoed.
  const texts = ["x".repeat(5), "x".repeat(125), "x".repeat(126), "é".repeat(500), "x".repeat(65_535), "x".repeat(65_536)];
  const sizes = [...texts.map((x) => Buffer.byteLength(x)), 1000];
  for (const [i, n] of sizes.entries()) {
    const reply = a.next();
    a.ws.send(i === texts.length ? Buffer.alloc(n, 7) : texts[i]);
    assert.equal((await reply).length, n);
  }
  // One publish to two subscribers.
  const pa = a.next();
  const pb = b.next();
  assert.equal(wss.publish("all", "news"), 2);
  await Promise.all([pa, pb]);

  const s = wss.stats();
  const payload = sizes.reduce((x, y) => x + y, 0);
  assert.equal(s.connections, 2);
  assert.equal(s.handshakesAccepted, 2);
  assert.deepEqual(s.handshakesRejected, { invalid: 1, headers: 0, origin: 1, capacity: 0, timeout: 0, hook: 1, error: 0, shutdown: 0 });
  assert.equal(s.messagesIn, sizes.length);
  assert.equal(s.bytesIn, payload);
  assert.equal(s.messagesOut, sizes.length + 2);
  assert.equal(s.bytesOut, payload + 2 * 4);
  assert.equal(s.publishes, 1);
  assert.equal(s.fanoutDeliveries, 2);
  assert.equal(s.droppedMessages, 0);
  assert.equal(s.adapterFailures, 0);
  assert.equal(s.compressionRatio, 1, "no connection negotiated permessage-deflate");
  // Client frames carry a 6+ byte header (masked) and the handshake came first: strictly more on the wire.
  assert.ok(s.wireBytesIn > s.bytesIn + sizes.length * 6, `wire in ${s.wireBytesIn} vs payload ${s.bytesIn}`);
  assert.ok(s.wireBytesOut > s.bytesOut + 6 * 2, `wire out ${s.wireBytesOut} vs payload ${s.bytesOut}`);

  // A closed connection's wire bytes stay counted.
  const closed = new Promise<void>((r) => (serverClosed = r));
  a.ws.close();
  await closed;
  const after = wss.stats();
  assert.equal(after.connections, 1);
  assert.ok(after.wireBytesIn >= s.wireBytesIn);
  assert.ok(after.wireBytesOut >= s.wireBytesOut);
});

test("compressionRatio reflects permessage-deflate traffic; adapterFailures comes from the adapter", async (t) => {
  const adapter: PubSubAdapter = {
    stats: { failed: 3 },
    attach() {},
    publish() {},
    subscribe() {},
    unsubscribe() {},
    close: async () => {},
  };
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true, adapter, message: (ws, data) => void ws.send(data) });
  t.after(() => wss.close());
  await wss.ready();
  const c = await client(t, `ws://127.0.0.1:${wss.port}/`, { perMessageDeflate: true });
  const text = "abcdefgh".repeat(8 * 1024); // 64 KiB that deflates to a few hundred bytes
  for (let i = 0; i < 4; i++) {
    const reply = c.next();
    c.ws.send(text);
    assert.equal((await reply).length, text.length);
  }
  const s = wss.stats();
  assert.equal(s.bytesIn, 4 * text.length);
  assert.equal(s.bytesOut, 4 * text.length);
  assert.ok(s.compressionRatio > 10, `ratio ${s.compressionRatio}`);
  assert.ok(s.wireBytesIn < s.bytesIn / 10);
  assert.equal(s.adapterFailures, 3);
});

test("formatPrometheus: a valid exposition carrying the stats, one labelled series per server", async (t) => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", message: (ws, data) => void ws.send(data) });
  t.after(() => wss.close());
  await wss.ready();
  const c = await client(t, `ws://127.0.0.1:${wss.port}/`);
  const reply = c.next();
  c.ws.send("hello");
  await reply;
  const stats = wss.stats();
  const idle = new WebSocketServer({ noServer: true });
  t.after(() => idle.close());

  const text = formatPrometheus([
    { labels: { endpoint: "/echo" }, stats },
    { labels: { endpoint: 'we"ird\\\n' }, stats: idle.stats() },
  ]);
  const p = parsePrometheus(text);
  assert.equal(p.types.get("wsx_connections"), "gauge");
  assert.equal(p.types.get("wsx_messages_received_total"), "counter");
  assert.equal(p.value("wsx_connections", { endpoint: "/echo" }), 1);
  assert.equal(p.value("wsx_messages_received_total", { endpoint: "/echo" }), 1);
  assert.equal(p.value("wsx_payload_received_bytes_total", { endpoint: "/echo" }), 5);
  assert.equal(p.value("wsx_wire_sent_bytes_total", { endpoint: "/echo" }), stats.wireBytesOut);
  assert.equal(p.value("wsx_handshakes_rejected_total", { endpoint: "/echo", reason: "origin" }), 0);
  assert.equal(p.value("wsx_connections", { endpoint: 'we"ird\\\n' }), 0, "label values are escaped and round-trip");
  assert.equal(p.samples.filter((s) => s.name === "wsx_handshakes_rejected_total").length, 2 * 8);
  // One server without labels, and another prefix.
  const single = parsePrometheus(formatPrometheus(stats, { prefix: "app_ws_" }));
  assert.equal(single.value("app_ws_messages_sent_total"), 1);
  assert.match(PROMETHEUS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
  assert.throws(() => formatPrometheus([{ labels: { "bad-name": "x" }, stats }]), RangeError);
});
