// The client through an HTTP CONNECT proxy (RFC 9110 §9.3.6) written here, which counts
// the CONNECT requests it saw: as an option, from the environment only when asked, for
// ws:// and wss://, and a proxy that refuses.
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";
import { once, record, startWsxServer } from "./helpers.js";

interface Proxy {
  url: string;
  /** The request targets of the CONNECT requests seen, in order. */
  connects: string[];
  /** Proxy-Authorization headers seen. */
  auth: Array<string | undefined>;
  close(): Promise<void>;
}

/** A CONNECT proxy on 127.0.0.1:0; `refuse` answers every CONNECT with that status. */
async function startProxy(refuse?: number): Promise<Proxy> {
  const connects: string[] = [];
  const auth: Array<string | undefined> = [];
  const sockets = new Set<Socket>();
  const proxy = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? "");
    auth.push(req.headers["proxy-authorization"]);
    sockets.add(client);
    client.on("error", () => {});
    client.on("close", () => sockets.delete(client));
    if (refuse !== undefined) {
      client.end(`HTTP/1.1 ${refuse} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const target = new URL(`http://${req.url ?? ""}`);
    const upstream = connect(Number(target.port), target.hostname.replace(/^\[|\]$/g, ""), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    connects,
    auth,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    },
  };
}

describe("HTTP CONNECT proxy", () => {
  test("the proxy option tunnels ws://; credentials in the proxy URL are sent as Basic auth", async () => {
    const server = await startWsxServer();
    const proxy = await startProxy();
    try {
      const plain = new WebSocket(server.url, [], { proxy: proxy.url });
      await once(plain, "open");
      plain.send("through the tunnel");
      assert.equal((await once(plain, "message")).data, "through the tunnel");
      assert.deepEqual(proxy.connects, [`127.0.0.1:${server.port}`]);
      assert.deepEqual(proxy.auth, [undefined]);
      plain.close(4000);
      assert.deepEqual(await record(plain).closed, { code: 4000, reason: "", wasClean: true });
      const authed = new WebSocket(server.url, [], { proxy: proxy.url.replace("http://", "http://us%20er:p%40ss@") });
      await once(authed, "open");
      assert.equal(proxy.auth[1], `Basic ${Buffer.from("us er:p@ss").toString("base64")}`);
      authed.close();
      await once(authed, "close");
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  test("wss:// through the tunnel: TLS end to end with the server", async () => {
    const { cert, key } = selfSignedCert();
    const https = createHttpsServer({ cert, key });
    const wss = new WebSocketServer({ server: https, message: (ws, d, b) => void ws.send(d, b) });
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    const port = (https.address() as AddressInfo).port;
    const proxy = await startProxy();
    try {
      const ws = new WebSocket(`wss://localhost:${port}/`, [], { proxy: proxy.url, ca: cert });
      await once(ws, "open");
      ws.send("secret");
      assert.equal((await once(ws, "message")).data, "secret");
      assert.deepEqual(proxy.connects, [`localhost:${port}`]);
      ws.close();
      await once(ws, "close");
    } finally {
      await proxy.close();
      await wss.close();
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    }
  });

  test("a proxy that refuses the tunnel: error, then close 1006", async () => {
    const proxy = await startProxy(407);
    try {
      const ws = new WebSocket("ws://127.0.0.1:9/", [], { proxy: proxy.url });
      const r = record(ws);
      const e = await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
      assert.equal(e.wasClean, false);
      assert.deepEqual(proxy.connects, ["127.0.0.1:9"]);
    } finally {
      await proxy.close();
    }
  });

  test("an invalid request header through the proxy: error, then close 1006 (nothing thrown)", async () => {
    const server = await startWsxServer();
    const proxy = await startProxy();
    const rejections: unknown[] = [];
    const onRejection = (err: unknown): void => void rejections.push(err);
    process.on("unhandledRejection", onRejection);
    try {
      const ws = new WebSocket(server.url, [], { proxy: proxy.url, headers: { "x-bad": "a\nb" } });
      const r = record(ws);
      await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
      await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(rejections, []);
    } finally {
      process.removeListener("unhandledRejection", onRejection);
      await proxy.close();
      await server.close();
    }
  });

  test("proxy: 'env' uses HTTP_PROXY and honours NO_PROXY; without it no proxy is used", async () => {
    const server = await startWsxServer();
    const proxy = await startProxy();
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    try {
      process.env.HTTP_PROXY = proxy.url;
      delete process.env.NO_PROXY;
      delete process.env.no_proxy;
      const viaEnv = new WebSocket(server.url, [], { proxy: "env" });
      await once(viaEnv, "open");
      assert.equal(proxy.connects.length, 1);
      viaEnv.close();
      await once(viaEnv, "close");
      const direct = new WebSocket(server.url);
      await once(direct, "open");
      assert.equal(proxy.connects.length, 1, "environment variables are ignored unless proxy: 'env'");
      direct.close();
      await once(direct, "close");
      process.env.NO_PROXY = "example.com, 127.0.0.1";
      const bypass = new WebSocket(server.url, [], { proxy: "env" });
      await once(bypass, "open");
      assert.equal(proxy.connects.length, 1, "NO_PROXY bypasses the proxy");
      bypass.close();
      await once(bypass, "close");
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await proxy.close();
      await server.close();
    }
  });
});
