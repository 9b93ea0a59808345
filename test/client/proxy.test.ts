// The client through an HTTP CONNECT proxy (RFC 9110 §9.3.6) written here, both as an
// option and from the environment.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { startEchoServer } from "../support/echo-server.js";
import { once } from "./helpers.js";

async function startProxy(): Promise<{ url: string; connects: string[]; close(): Promise<void> }> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    },
  };
}

describe("HTTP CONNECT proxy", () => {
  test("the proxy option tunnels the connection", async () => {
    const server = await startEchoServer();
    const proxy = await startProxy();
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, [], { proxy: proxy.url });
    await once(ws, "open");
    ws.send("through the tunnel");
    assert.equal(((await once(ws, "message")) as any).data, "through the tunnel");
    assert.deepEqual(proxy.connects, [`127.0.0.1:${server.port}`]);
    ws.close();
    await once(ws, "close");
    await proxy.close();
    await server.close();
  });

  test("proxy: 'env' uses HTTP_PROXY and honours NO_PROXY; without it no proxy is used", async () => {
    const server = await startEchoServer();
    const proxy = await startProxy();
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    try {
      process.env.HTTP_PROXY = proxy.url;
      delete process.env.NO_PROXY;
      const viaEnv = new WebSocket(`ws://127.0.0.1:${server.port}/`, [], { proxy: "env" });
      await once(viaEnv, "open");
      assert.equal(proxy.connects.length, 1);
      viaEnv.close();
      const direct = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      await once(direct, "open");
      assert.equal(proxy.connects.length, 1, "environment variables are ignored unless proxy: 'env'");
      direct.close();
      process.env.NO_PROXY = "localhost,127.0.0.1";
      const bypass = new WebSocket(`ws://127.0.0.1:${server.port}/`, [], { proxy: "env" });
      await once(bypass, "open");
      assert.equal(proxy.connects.length, 1, "NO_PROXY bypasses the proxy");
      bypass.close();
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
