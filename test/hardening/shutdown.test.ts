// Graceful shutdown under load: server.close() with 1,000 connections and messages in flight
// delivers every message the server accepted (send did not return Dropped) before its close
// frame — checked per connection, exactly — then closes every connection with 1001
// (RFC 6455 §7.4.1 "going away").
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { SendStatus } from "../../src/server/send-status.js";
import { WebSocketServer } from "../../src/server/server.js";

const CONNECTIONS = 1000;
const MESSAGES = 20;

interface Client {
  ws: WebSocket;
  received: number;
  afterClose: number;
  code: Promise<number>;
}

test("close() with 1,000 busy connections: every accepted message arrives, then 1001", async (t) => {
  const accepted = new Array<number>(CONNECTIONS).fill(0);
  const refused = new Array<number>(CONNECTIONS).fill(0);
  const serverCloses: number[] = [];
  let closing: Promise<void> | null = null;
  const wss = new WebSocketServer<{ id: number }>({
    port: 0,
    host: "127.0.0.1",
    upgrade: (req) => ({ id: Number(new URL(req.url ?? "/", "http://x").searchParams.get("id")) }),
    message(ws, data, isBinary) {
      if (ws.send(data, isBinary) === SendStatus.Dropped) refused[ws.data.id]++;
      else accepted[ws.data.id]++;
      // Shut down from inside the traffic: after the 2,000th message, with ~18,000 still coming.
      if (closing === null && accepted.reduce((a, b) => a + b, 0) === 2000) closing = wss.close();
    },
    close: (_ws, code) => void serverCloses.push(code),
  });
  await wss.ready();
  t.after(() => wss.close());
  const clients: Client[] = [];
  for (let i = 0; i < CONNECTIONS; i += 100) {
    const batch = await Promise.all(
      Array.from(
        { length: 100 },
        (_, k) =>
          new Promise<Client>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${wss.port}/?id=${i + k}`);
            let closed = false;
            const c: Client = {
              ws,
              received: 0,
              afterClose: 0,
              code: new Promise<number>((r) =>
                ws.once("close", (code) => {
                  closed = true;
                  r(code);
                }),
              ),
            };
            ws.on("message", () => (closed ? c.afterClose++ : c.received++));
            ws.once("open", () => resolve(c));
            ws.once("error", reject);
          }),
      ),
    );
    clients.push(...batch);
  }
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  assert.equal(wss.clients.size, CONNECTIONS);
  // Messages in flight: every client sends; the server starts closing while they arrive.
  const pad = "x".repeat(1024);
  for (const [i, c] of clients.entries()) for (let k = 0; k < MESSAGES; k++) c.ws.send(`message ${k} from ${i} ${pad}`);
  const codes = await Promise.all(clients.map((c) => c.code));
  assert.ok(closing !== null, "close() was called");
  await closing;
  assert.deepEqual(new Set(codes), new Set([1001]), "every connection closed with 1001");
  const totalAccepted = accepted.reduce((a, b) => a + b, 0);
  const totalRefused = refused.reduce((a, b) => a + b, 0);
  t.diagnostic(`${totalAccepted} messages accepted and delivered, ${totalRefused} refused after the close frame`);
  assert.ok(totalAccepted >= 2000 && totalAccepted < CONNECTIONS * MESSAGES, "the close came while messages were in flight");
  for (let id = 0; id < CONNECTIONS; id++) {
    assert.equal(clients[id].received, accepted[id], `connection ${id}: every accepted message was delivered`);
    assert.equal(accepted[id] + refused[id] <= MESSAGES, true);
  }
  assert.equal(clients.reduce((n, c) => n + c.afterClose, 0), 0);
  assert.equal(wss.clients.size, 0);
  assert.equal(serverCloses.length, CONNECTIONS);
  assert.ok(serverCloses.every((code) => code === 1001), "the clients echoed 1001");
});
