// The wsx client end to end against three servers: wsx, ws (npm) and Python websockets;
// plus wss:// with a self-signed certificate.
import assert from "node:assert/strict";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocketServer as WsServer } from "ws";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../support/certs.js";
import { missing } from "../support/components.js";
import { startEchoServer } from "../support/echo-server.js";
import { startPythonEchoServer } from "../support/python.js";
import { once, record } from "./helpers.js";

interface Peer {
  name: string;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
  /** Asks the server to close with code/reason (each server has its own way). */
  serverClose(ws: WebSocket, code: number, reason: string): void;
  skip?: false | string;
}

function wsNpmServer(protocols: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  return new Promise((resolve) => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", maxPayload: 64 * 1024 * 1024, perMessageDeflate: true, handleProtocols: (set) => [...set].find((p) => protocols.includes(p)) ?? false });
    wss.on("connection", (c) =>
      c.on("message", (d, isBinary) => {
        const text = d.toString();
        if (!isBinary && text.startsWith("close ")) {
          const [, code, ...reason] = text.split(" ");
          c.close(Number(code), reason.join(" "));
        } else c.send(d, { binary: isBinary });
      }),
    );
    wss.on("listening", () =>
      resolve({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, stop: () => new Promise<void>((r) => wss.close(() => r())) }),
    );
  });
}

const PROTOCOLS = ["chat.v1", "chat.v2"];
const peers: Peer[] = [
  {
    name: "wsx server",
    start: async () => {
      const s = await startEchoServer({
        protocols: PROTOCOLS,
        perMessageDeflate: true,
        maxPayload: 64 * 1024 * 1024,
        message(ws, data, isBinary) {
          const text = isBinary ? "" : data.toString();
          if (text.startsWith("close ")) {
            const [, code, ...reason] = text.split(" ");
            ws.close(Number(code), reason.join(" "));
          } else ws.send(data, isBinary);
        },
      });
      return { url: `ws://127.0.0.1:${s.port}/`, stop: () => s.close() };
    },
    serverClose: (ws, code, reason) => ws.send(`close ${code} ${reason}`),
  },
  { name: "ws server (npm)", start: () => wsNpmServer(PROTOCOLS), serverClose: (ws, code, reason) => ws.send(`close ${code} ${reason}`) },
  {
    name: "Python websockets server",
    skip: missing("python3-websockets"),
    start: async () => {
      const p = await startPythonEchoServer({ protocols: PROTOCOLS, compress: true });
      return { url: p.url, stop: p.stop };
    },
    serverClose: (ws, code, reason) => ws.send(`close ${code} ${reason}`),
  },
];

for (const peer of peers) {
  describe(`wsx client ⇄ ${peer.name}`, { skip: peer.skip }, () => {
    let url = "";
    let stop: () => Promise<void> = async () => {};
    before(async () => {
      const s = await peer.start();
      url = s.url;
      stop = s.stop;
    });
    after(() => stop());

    test("text, binary (ArrayBuffer and Blob), 1 MiB and 16 MiB round trips", async () => {
      const ws = new WebSocket(url, [], { maxPayload: 64 * 1024 * 1024 });
      ws.binaryType = "arraybuffer";
      await once(ws, "open");
      ws.send("héllo wörld");
      assert.equal(((await once(ws, "message")) as any).data, "héllo wörld");
      ws.send(new Uint8Array([0, 255, 7]).buffer);
      assert.deepEqual([...new Uint8Array(((await once(ws, "message")) as any).data)], [0, 255, 7]);
      ws.send(new Blob([new Uint8Array([9, 8])]));
      assert.deepEqual([...new Uint8Array(((await once(ws, "message")) as any).data)], [9, 8]);
      for (const size of [1 << 20, 16 << 20]) {
        const big = new Uint8Array(size);
        for (let i = 0; i < size; i += 997) big[i] = i & 0xff;
        ws.send(big);
        const back = new Uint8Array(((await once(ws, "message", 30_000)) as any).data);
        assert.equal(back.length, size);
        assert.ok(Buffer.from(back).equals(Buffer.from(big)));
      }
      ws.close();
      await once(ws, "close");
    });

    test("subprotocol negotiation", async () => {
      const ws = new WebSocket(url, ["nope", "chat.v2"]);
      await once(ws, "open");
      assert.equal(ws.protocol, "chat.v2");
      ws.close();
      await once(ws, "close");
    });

    test("client-initiated close with a code and UTF-8 reason is clean", async () => {
      const ws = new WebSocket(url);
      const r = record(ws);
      await once(ws, "open");
      ws.close(4001, "fermé ✓");
      const e = await r.closed;
      assert.equal(e.code, 4001);
      assert.equal(e.wasClean, true);
    });

    test("server-initiated close with a code and UTF-8 reason", async () => {
      const ws = new WebSocket(url);
      const r = record(ws);
      await once(ws, "open");
      peer.serverClose(ws, 4002, "server ✓ bye");
      const e = await r.closed;
      assert.deepEqual([e.code, e.reason, e.wasClean], [4002, "server ✓ bye", true]);
    });

    test("with permessage-deflate negotiated: extensions and round trips", async () => {
      const ws = new WebSocket(url, [], { perMessageDeflate: { threshold: 0 } });
      await once(ws, "open");
      assert.match(ws.extensions, /^permessage-deflate/);
      const text = "squeeze ".repeat(5000);
      ws.send(text);
      assert.equal(((await once(ws, "message")) as any).data, text);
      ws.send("tiny");
      assert.equal(((await once(ws, "message")) as any).data, "tiny");
      ws.close();
      await once(ws, "close");
    });
  });
}

describe("wss:// with a self-signed certificate", { skip: missing("openssl") }, () => {
  test("trusted through `ca`; refused without it", async () => {
    const { cert, key } = selfSignedCert();
    const https = createHttpsServer({ cert, key });
    const wss = new WebSocketServer({ server: https, message: (ws, d, b) => void ws.send(d, b) });
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    const port = (https.address() as AddressInfo).port;
    const ok = new WebSocket(`wss://localhost:${port}/`, [], { ca: cert });
    await once(ok, "open");
    ok.send("secure");
    assert.equal(((await once(ok, "message")) as any).data, "secure");
    ok.close();
    await once(ok, "close");
    const bad = new WebSocket(`wss://localhost:${port}/`);
    const r = record(bad);
    const e = await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
    assert.equal(e.wasClean, false);
    await wss.close();
    https.closeAllConnections();
    await new Promise<void>((r2) => https.close(() => r2()));
  });
});
