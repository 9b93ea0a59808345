// Interop: the wsx server with the `ws` npm client, an independent implementation.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { startEchoServer, type EchoServer } from "../conformance/echo-server.js";
import { waitUntil } from "../conformance/wait.js";

const TIMEOUT_MS = 10_000;

/** Resolves with the first `event` of `emitter` (its arguments), or rejects after `timeoutMs`. */
function once<T extends unknown[]>(ws: WebSocket, event: string, timeoutMs = TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ws client: no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    ws.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

async function open(url: string, options?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  ws.on("error", () => {}); // reported through the awaited events
  await once(ws, "open");
  return ws;
}

async function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = await once<[Buffer, boolean]>(ws, "message");
  return { data, isBinary };
}

async function closeClient(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, "close");
  ws.close(1000);
  await closed;
}

describe("interop: wsx server ⇄ ws client", () => {
  let server: EchoServer;
  let url: string;
  before(async () => {
    server = await startEchoServer({ maxPayload: 32 * 1024 * 1024 });
    url = `ws://127.0.0.1:${server.port}/`;
  });
  after(() => server.stop());

  test("text and binary are echoed with their type", async () => {
    const ws = await open(url);
    ws.send("héllo ✓ 𝄞");
    const text = await nextMessage(ws);
    assert.equal(text.isBinary, false);
    assert.equal(text.data.toString(), "héllo ✓ 𝄞");
    ws.send(Buffer.from([0, 1, 2, 255]));
    const bin = await nextMessage(ws);
    assert.equal(bin.isBinary, true);
    assert.deepEqual([...bin.data], [0, 1, 2, 255]);
    ws.send("");
    assert.equal((await nextMessage(ws)).data.length, 0);
    await closeClient(ws);
  });

  test("a fragmented message (send with fin: false, then continuation) is echoed whole", async () => {
    const ws = await open(url);
    ws.send("part one, ", { fin: false });
    ws.send("part two, ", { fin: false });
    ws.send("part three", { fin: true });
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString(), "part one, part two, part three");
    ws.send(Buffer.from([1, 2]), { fin: false, binary: true });
    ws.send(Buffer.from([3]), { fin: true, binary: true });
    const b = await nextMessage(ws);
    assert.equal(b.isBinary, true);
    assert.deepEqual([...b.data], [1, 2, 3]);
    await closeClient(ws);
  });

  test("16 MiB binary and text messages are echoed byte-exact", async () => {
    const ws = await open(url, { maxPayload: 32 * 1024 * 1024 });
    const big = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    ws.send(big);
    const got = await nextMessage(ws);
    assert.equal(got.isBinary, true);
    assert.equal(got.data.length, big.length);
    assert.ok(got.data.equals(big), "binary bytes differ");
    const text = "wsx ✓ ".repeat((16 * 1024 * 1024) / 8);
    ws.send(text);
    const echoed = await nextMessage(ws);
    assert.equal(echoed.isBinary, false);
    assert.ok(echoed.data.equals(Buffer.from(text)), "text bytes differ");
    await closeClient(ws);
  });

  test("a ping from ws gets a pong with the same payload; a ping from the server gets ws's pong", async () => {
    const pongs: string[] = [];
    const pinging = await startEchoServer({ pong: (_ws, data) => void pongs.push(data.toString()) });
    try {
      const ws = await open(`ws://127.0.0.1:${pinging.port}/`);
      const pong = once<[Buffer]>(ws, "pong");
      ws.ping("are you there");
      assert.equal((await pong)[0].toString(), "are you there");
      const ping = once<[Buffer]>(ws, "ping");
      await waitUntil(() => pinging.wss.clients.size === 1, "the connection");
      for (const c of pinging.wss.clients) c.ping("server ping");
      assert.equal((await ping)[0].toString(), "server ping");
      await waitUntil(() => pongs.includes("server ping"), "ws's automatic pong");
      await closeClient(ws);
    } finally {
      await pinging.stop();
    }
  });

  for (const [code, reason] of [[1000, ""], [1001, "going"], [4321, "ünïcode reason ✓"]] as const) {
    test(`the client closes with ${code} "${reason}": the server sees it and echoes the code`, async () => {
      const ws = await open(url);
      const closed = once<[number, Buffer]>(ws, "close");
      ws.close(code, reason);
      const [echoed] = await closed;
      assert.equal(echoed, code);
      await waitUntil(() => server.closes.some((c) => c.code === code && c.reason === reason), `the server's close handler with ${code}`);
    });
  }

  test("a close without a code: ws reports 1005, the server sees 1005", async () => {
    const ws = await open(url);
    const before = server.closes.filter((c) => c.code === 1005).length;
    const closed = once<[number, Buffer]>(ws, "close");
    ws.close();
    assert.equal((await closed)[0], 1005);
    await waitUntil(() => server.closes.filter((c) => c.code === 1005).length > before, "the server's close handler with 1005");
  });

  for (const [code, reason] of [[1000, "done"], [1011, "oops"], [4000, "server bye ✓"]] as const) {
    test(`the server closes with ${code} "${reason}": ws receives both`, async () => {
      const ws = await open(url);
      await waitUntil(() => server.wss.clients.size === 1, "one connection");
      const closed = once<[number, Buffer]>(ws, "close");
      for (const c of server.wss.clients) c.close(code, reason);
      const [gotCode, gotReason] = await closed;
      assert.equal(gotCode, code);
      assert.equal(gotReason.toString(), reason);
      await waitUntil(() => server.wss.clients.size === 0, "the server to drop the connection");
    });
  }

  test("a message over the server's maxPayload: ws sees 1009", async () => {
    const small = await startEchoServer({ maxPayload: 1000 });
    try {
      const ws = await open(`ws://127.0.0.1:${small.port}/`);
      const closed = once<[number, Buffer]>(ws, "close");
      ws.send(Buffer.alloc(1001));
      assert.equal((await closed)[0], 1009);
    } finally {
      await small.stop();
    }
  });
});
