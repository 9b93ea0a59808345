// Interop: the wsx server with the `ws` client (an independent implementation).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { startEchoServer, waitFor, type EchoServer } from "../support/echo-server.js";

function open(url: string, options?: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

describe("wsx server ⇄ ws client", () => {
  let server: EchoServer;
  let url: string;
  before(async () => {
    server = await startEchoServer();
    url = `ws://127.0.0.1:${server.port}/`;
  });
  after(() => server.close());

  test("text and binary round trips", async () => {
    const ws = await open(url);
    ws.send("héllo");
    const t = await next(ws);
    assert.equal(t.isBinary, false);
    assert.equal(t.data.toString(), "héllo");
    ws.send(Buffer.from([0, 1, 2, 255]));
    const b = await next(ws);
    assert.equal(b.isBinary, true);
    assert.deepEqual([...b.data], [0, 1, 2, 255]);
    ws.close();
  });

  test("a fragmented message (ws fin: false) is reassembled", async () => {
    const ws = await open(url);
    ws.send("part one, ", { fin: false });
    ws.send("part two", { fin: true });
    assert.equal((await next(ws)).data.toString(), "part one, part two");
    ws.close();
  });

  test("a 16 MiB binary message is echoed byte-exact", async () => {
    const ws = await open(url, { maxPayload: 32 * 1024 * 1024 });
    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
    ws.send(big);
    const got = await next(ws);
    assert.equal(got.data.length, big.length);
    assert.ok(got.data.equals(big));
    ws.close();
  });

  test("ping/pong", async () => {
    const ws = await open(url);
    const pong = new Promise<Buffer>((r) => ws.once("pong", r));
    ws.ping("are you there");
    assert.equal((await pong).toString(), "are you there");
    ws.close();
  });

  test("client close code and reason reach the server and are echoed", async () => {
    const ws = await open(url);
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.close(4321, "ünïcode reason");
    assert.equal(await closed, 4321);
    await waitFor(() => server.closes.some((c) => c.code === 4321 && c.reason === "ünïcode reason"), 2000, "server close");
  });

  test("server close code and reason reach the client", async () => {
    const ws = await open(url);
    await waitFor(() => server.wss.clients.size > 0, 2000, "connection");
    const closed = new Promise<[number, string]>((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
    for (const c of server.wss.clients) c.close(4000, "server bye");
    assert.deepEqual(await closed, [4000, "server bye"]);
  });

  test("compression negotiated with ws: round trips and extensions", async () => {
    const z = await startEchoServer({ perMessageDeflate: { threshold: 0 } });
    const ws = await open(`ws://127.0.0.1:${z.port}/`, { perMessageDeflate: { threshold: 0 } });
    assert.match(ws.extensions, /permessage-deflate/);
    const text = "compress me ".repeat(1000);
    ws.send(text);
    assert.equal((await next(ws)).data.toString(), text);
    ws.send(Buffer.alloc(0));
    assert.equal((await next(ws)).data.length, 0);
    ws.close();
    await z.close();
  });
});
