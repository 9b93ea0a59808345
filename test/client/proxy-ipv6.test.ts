// An IPv6 target through an HTTP CONNECT proxy: the CONNECT request-target and its Host
// header use the bracketed IP-literal (RFC 9110 §7.2, RFC 3986 §3.2.2: `[::1]:8080`), and so
// does the opening handshake's Host header sent through the tunnel (RFC 6455 §4.1, item 4).
// The proxy here is a raw TCP server that records the bytes of both request heads.
import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { createServer as createHttpsServer } from "node:https";
import { networkInterfaces } from "node:os";
import { test } from "node:test";
import { proxyFor } from "../../src/client/proxy.js";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";

/** A request head as received: the request line and the headers (names lower-cased). */
interface SeenHead {
  requestLine: string;
  headers: Map<string, string[]>;
}

function parseHead(text: string): SeenHead {
  const [requestLine = "", ...lines] = text.split("\r\n");
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { requestLine, headers };
}

/** Reads bytes until the end of an HTTP head; returns the head and whatever followed it. */
function readHead(socket: Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.removeListener("data", onData);
      socket.removeListener("error", reject);
      socket.pause();
      resolve({ head: buffered.subarray(0, end).toString("latin1"), rest: buffered.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

interface RecordingProxy {
  url: string;
  /** The CONNECT request head, once received. */
  connect: Promise<SeenHead>;
  /** The first request head the client sent through the tunnel (the opening handshake). */
  tunnelled: Promise<SeenHead>;
  close(): Promise<void>;
}

/**
 * A CONNECT proxy on 127.0.0.1:0 that tunnels one connection and records the CONNECT head and
 * the tunnelled request head; with `tls`, `tunnelled` resolves with no headers and a request
 * line naming the first byte the client sent through the tunnel (22 for a TLS handshake record).
 */
async function startRecordingProxy(tls = false): Promise<RecordingProxy> {
  const sockets = new Set<Socket>();
  let seenConnect!: (h: SeenHead) => void;
  let seenTunnelled!: (h: SeenHead) => void;
  const connectHead = new Promise<SeenHead>((r) => (seenConnect = r));
  const tunnelledHead = new Promise<SeenHead>((r) => (seenTunnelled = r));
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  };
  const server = createServer(async (client) => {
    track(client);
    try {
      const { head, rest } = await readHead(client);
      const request = parseHead(head);
      seenConnect(request);
      const [method = "", target = ""] = request.requestLine.split(" ");
      const m = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:]+):(\d+)$/.exec(target);
      if (method !== "CONNECT" || m === null) {
        client.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const upstream = connect(Number(m[2]), m[1]);
      track(upstream);
      await new Promise<void>((resolve, reject) => {
        upstream.once("connect", resolve);
        upstream.once("error", reject);
      });
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      // Record the tunnelled handshake head, then relay everything both ways.
      client.unshift(rest);
      if (tls) {
        client.once("data", (chunk: Buffer) => seenTunnelled({ requestLine: `first byte ${chunk[0]}`, headers: new Map() }));
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
        return;
      }
      client.resume();
      const inner = await readHead(client);
      seenTunnelled(parseHead(inner.head));
      upstream.write(`${inner.head}\r\n\r\n`);
      if (inner.rest.length > 0) upstream.write(inner.rest);
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    } catch {
      client.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connect: connectHead,
    tunnelled: tunnelledHead,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const noIPv6 = !Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.internal && i.address === "::1"));

const skipIPv6 = { skip: noIPv6 ? "this machine has no IPv6 loopback (::1)" : false };

test("an IPv6 target is bracketed in the CONNECT request-target, its Host, and the handshake's Host", skipIPv6, async (t) => {
  const wss = new WebSocketServer({ port: 0, host: "::1", message: (ws, data, isBinary) => ws.send(data, isBinary) });
  t.after(() => wss.close());
  await wss.ready();
  const proxy = await startRecordingProxy();
  t.after(() => proxy.close());
  const authority = `[::1]:${wss.port}`;

  const ws = new WebSocket(`ws://${authority}/echo`, [], { proxy: proxy.url });
  t.after(() => ws.close());
  const echoed = new Promise<string>((resolve, reject) => {
    ws.addEventListener("open", () => ws.send("over IPv6"));
    ws.addEventListener("message", (e) => resolve(String(e.data)));
    ws.addEventListener("close", (e) => reject(new Error(`closed before the echo: ${e.code}`)));
  });

  const connectRequest = await proxy.connect;
  assert.equal(connectRequest.requestLine, `CONNECT ${authority} HTTP/1.1`);
  assert.deepEqual(connectRequest.headers.get("host"), [authority]);
  // If the handshake bypassed the tunnel (a direct connection), the echo comes without it.
  const bypassed = echoed.then(() => {
    throw new Error("the echo arrived but no handshake went through the tunnel");
  });
  const handshake = await Promise.race([proxy.tunnelled, bypassed]);
  assert.equal(handshake.requestLine, "GET /echo HTTP/1.1");
  assert.deepEqual(handshake.headers.get("host"), [authority]);
  assert.equal(await echoed, "over IPv6");
});

test("wss:// to an IPv6 target goes through the tunnel (TLS inside it) with a bracketed Host", skipIPv6, async (t) => {
  const { cert, key } = selfSignedCert();
  const https = createHttpsServer({ cert, key });
  const hosts: Array<string | undefined> = [];
  const wss = new WebSocketServer({
    server: https,
    upgrade: (req) => void hosts.push(req.headers.host),
    message: (ws, data, isBinary) => ws.send(data, isBinary),
  });
  await new Promise<void>((r) => https.listen(0, "::1", r));
  t.after(async () => {
    await wss.close();
    https.closeAllConnections();
    await new Promise<void>((r) => https.close(() => r()));
  });
  const proxy = await startRecordingProxy(true);
  t.after(() => proxy.close());
  const authority = `[::1]:${(https.address() as AddressInfo).port}`;

  const ws = new WebSocket(`wss://${authority}/`, [], { proxy: proxy.url, ca: cert });
  t.after(() => ws.close());
  const echoed = new Promise<string>((resolve, reject) => {
    ws.addEventListener("open", () => ws.send("TLS over IPv6"));
    ws.addEventListener("message", (e) => resolve(String(e.data)));
    ws.addEventListener("close", (e) => reject(new Error(`closed before the echo: ${e.code}`)));
  });
  const connectRequest = await proxy.connect;
  assert.equal(connectRequest.requestLine, `CONNECT ${authority} HTTP/1.1`);
  assert.deepEqual(connectRequest.headers.get("host"), [authority]);
  const bypassed = echoed.then(() => {
    throw new Error("the echo arrived but nothing went through the tunnel");
  });
  // RFC 8446 §5.1: a TLS record starting a handshake has content type 22.
  assert.equal((await Promise.race([proxy.tunnelled, bypassed])).requestLine, "first byte 22");
  assert.equal(await echoed, "TLS over IPv6");
  assert.deepEqual(hosts, [authority]);
});

test("NO_PROXY matches IPv6 targets, written bare, in brackets, or in brackets with a port", () => {
  const names = ["HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] as const;
  const saved = names.map((n) => process.env[n]);
  try {
    for (const n of names) delete process.env[n];
    process.env.HTTP_PROXY = "http://127.0.0.1:3128";
    const target = new URL("ws://[::1]:8080/");
    assert.equal(proxyFor("env", target)?.href, "http://127.0.0.1:3128/", "no NO_PROXY: the proxy applies");
    for (const entry of ["::1", "[::1]", "[::1]:8080", "example.com, ::1"]) {
      process.env.NO_PROXY = entry;
      assert.equal(proxyFor("env", target), null, `NO_PROXY=${entry}`);
    }
    process.env.NO_PROXY = "::2, [::1:0]";
    assert.notEqual(proxyFor("env", target), null, "other IPv6 addresses do not match");
    process.env.NO_PROXY = "localhost:8080";
    assert.equal(proxyFor("env", new URL("ws://localhost:9000/")), null, "a port on a host name is still ignored");
  } finally {
    names.forEach((n, i) => {
      if (saved[i] === undefined) delete process.env[n];
      else process.env[n] = saved[i];
    });
  }
});
