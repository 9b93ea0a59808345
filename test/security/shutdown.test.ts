// Shutdown under load: server.close() with 1,000 connections and traffic in flight delivers
// every message accepted before the close frame, then closes every connection with 1001.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { WebSocketServer } from "../../src/server/server.js";

test("1,000 active connections: every accepted message is echoed before 1001", async () => {
  const accepted = new Map<number, number>(); // connection id → messages the server accepted
  let nextId = 0;
  const wss = new WebSocketServer<{ id: number }>({
    port: 0,
    host: "127.0.0.1",
    upgrade: () => ({ id: nextId++ }),
    message(ws, data, isBinary) {
      if (ws.send(data, isBinary) !== 0) accepted.set(ws.data.id, (accepted.get(ws.data.id) ?? 0) + 1);
    },
  });
  await wss.ready();
  const url = `ws://127.0.0.1:${wss.port}/`;
  const clients = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      new Promise<{ ws: WebSocket; received: number; code: Promise<number> }>((resolve, reject) => {
        void i;
        const ws = new WebSocket(url);
        const c = { ws, received: 0, code: new Promise<number>((r) => ws.once("close", (code) => r(code))) };
        ws.on("message", () => void c.received++);
        ws.once("open", () => resolve(c));
        ws.once("error", reject);
      }),
    ),
  );
  // 10 messages per connection; close while most of them are still on their way.
  for (const [i, c] of clients.entries()) for (let k = 0; k < 10; k++) c.ws.send(`hello ${i} ${k}`);
  await new Promise((r) => setTimeout(r, 20));
  await wss.close();
  const codes = await Promise.all(clients.map((c) => c.code));
  assert.ok(codes.every((c) => c === 1001), `close codes: ${[...new Set(codes)]}`);
  const received = clients.reduce((n, c) => n + c.received, 0);
  let total = 0;
  for (let id = 0; id < 1000; id++) {
    // Each connection's upgrade id matches its order of arrival, not the client index, so
    // compare totals per connection through the sums, and in total.
    total += accepted.get(id) ?? 0;
  }
  assert.ok(total > 0, `traffic was flowing (${total} accepted, ${received} received)`);
  assert.equal(received, total, "every message the server accepted reached its client");
  assert.equal(wss.clients.size, 0);
});
