// The wsx client end to end against three real servers: wsx, ws (npm) and Python
// websockets: text, binary (ArrayBuffer and Blob), 1 MiB and 16 MiB messages, subprotocols,
// closes from either side with codes and UTF-8 reasons, permessage-deflate, and wss://
// with a self-signed certificate made by the test.
import assert from "node:assert/strict";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocketServer as WsServer, type WebSocket as WsSocket } from "ws";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";
import { skipUnless } from "../helpers/components.js";
import { startPythonEchoServer } from "../helpers/python.js";
import { once, record, startWsxServer } from "./helpers.js";

const PROTOCOLS = ["chat.v1", "chat.v2"];
const MAX = 64 * 1024 * 1024;

interface Running {
  url: string;
  stop(): Promise<void>;
}

interface Peer {
  name: string;
  skip: false | string;
  /** Starts an echo server (permessage-deflate on, PROTOCOLS supported); `tls` for wss://. */
  start(tls: boolean): Promise<Running>;
  /** Whether a text message "close <code> <reason>" makes the server close that way. */
  closeCommand: boolean;
}

/** HTTPS server with the test's self-signed certificate, listening on 127.0.0.1:0. */
async function httpsServer(): Promise<{ https: HttpsServer; port: number; stop(): Promise<void> }> {
  const { cert, key } = selfSignedCert();
  const https = createHttpsServer({ cert, key });
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  return {
    https,
    port: (https.address() as AddressInfo).port,
    stop: async () => {
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    },
  };
}

function wsNpmEcho(c: WsSocket): void {
  c.on("message", (d, isBinary) => {
    const text = isBinary ? "" : d.toString();
    if (text.startsWith("close ")) {
      const [, code, ...reason] = text.split(" ");
      c.close(Number(code), reason.join(" "));
    } else c.send(d, { binary: isBinary });
  });
}

async function startWsNpm(tls: boolean): Promise<Running> {
  const common = {
    maxPayload: MAX,
    perMessageDeflate: true,
    handleProtocols: (set: Set<string>) => [...set].find((p) => PROTOCOLS.includes(p)) ?? false,
  };
  if (tls) {
    const h = await httpsServer();
    const wss = new WsServer({ server: h.https, ...common });
    wss.on("connection", wsNpmEcho);
    return {
      url: `wss://127.0.0.1:${h.port}/`,
      stop: async () => {
        for (const c of wss.clients) c.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        await h.stop();
      },
    };
  }
  const wss = new WsServer({ port: 0, host: "127.0.0.1", ...common });
  wss.on("connection", wsNpmEcho);
  await new Promise<void>((r) => wss.once("listening", r));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

async function startWsx(tls: boolean): Promise<Running> {
  if (!tls) {
    const s = await startWsxServer({ protocols: PROTOCOLS, perMessageDeflate: true, maxPayload: MAX });
    return { url: s.url, stop: () => s.close() };
  }
  const h = await httpsServer();
  const wss = new WebSocketServer({ server: h.https, protocols: PROTOCOLS, message: (ws, d, b) => void ws.send(d, b) });
  return {
    url: `wss://127.0.0.1:${h.port}/`,
    stop: async () => {
      await wss.close();
      await h.stop();
    },
  };
}

const pythonSkip = await skipUnless("python3-websockets");

const peers: Peer[] = [
  { name: "wsx server", skip: false, start: startWsx, closeCommand: true },
  { name: "ws server (npm)", skip: false, start: startWsNpm, closeCommand: true },
  {
    name: "Python websockets server",
    skip: pythonSkip,
    closeCommand: false,
    start: async (tls) => {
      const cert = selfSignedCert();
      const py = await startPythonEchoServer({
        compression: true,
        subprotocols: PROTOCOLS,
        maxSize: MAX,
        ...(tls ? { tls: { certPath: cert.certPath, keyPath: cert.keyPath } } : {}),
      });
      return { url: py.url, stop: py.stop };
    },
  },
];

for (const peer of peers) {
  describe(`wsx client ⇄ ${peer.name}`, { skip: peer.skip }, () => {
    let server: Running = { url: "", stop: async () => {} };
    before(async () => {
      server = await peer.start(false);
    });
    after(() => server.stop());

    test("text, binary (ArrayBuffer and Blob), 1 MiB and 16 MiB round trips", async () => {
      const ws = new WebSocket(server.url, [], { maxPayload: MAX });
      ws.binaryType = "arraybuffer";
      await once(ws, "open");
      ws.send("héllo wörld ✓");
      assert.equal((await once(ws, "message")).data, "héllo wörld ✓");
      ws.send(new Uint8Array([0, 255, 7]).buffer);
      assert.deepEqual([...new Uint8Array((await once(ws, "message")).data)], [0, 255, 7]);
      ws.send(new Blob([new Uint8Array([9, 8])]));
      assert.deepEqual([...new Uint8Array((await once(ws, "message")).data)], [9, 8]);
      ws.binaryType = "blob";
      ws.send(new Uint8Array([1, 2, 3, 4]));
      const blob: Blob = (await once(ws, "message")).data;
      assert.ok(blob instanceof Blob);
      assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3, 4]);
      ws.binaryType = "arraybuffer";
      for (const size of [1 << 20, 16 << 20]) {
        const big = new Uint8Array(size);
        for (let i = 0; i < size; i += 997) big[i] = (i >>> 3) & 0xff;
        ws.send(big);
        const back = new Uint8Array((await once(ws, "message", 60_000)).data);
        assert.equal(back.length, size);
        assert.ok(Buffer.from(back).equals(Buffer.from(big)), `${size} bytes came back intact`);
      }
      const text = "€".repeat(1 << 19); // 1.5 MiB of UTF-8
      ws.send(text);
      assert.equal((await once(ws, "message", 30_000)).data, text);
      ws.close();
      await once(ws, "close");
    });

    test("large binary messages (masked in the client's MaskHome), in a burst and one by one, each come back intact", async () => {
      const ws = new WebSocket(server.url, [], { maxPayload: MAX });
      ws.binaryType = "arraybuffer";
      await once(ws, "open");
      const received: ArrayBuffer[] = [];
      let waiting: { n: number; resolve: () => void } | null = null;
      ws.addEventListener("message", (e) => {
        received.push(e.data);
        if (waiting !== null && received.length >= waiting.n) waiting.resolve();
      });
      /** Resolves once `n` echoes have arrived (fails after 60 s). */
      const until = (n: number): Promise<void> =>
        received.length >= n
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`${received.length} of ${n} echoes arrived`)), 60_000);
              waiting = {
                n,
                resolve: () => {
                  clearTimeout(timer);
                  waiting = null;
                  resolve();
                },
              };
            });
      // Sizes around the home's threshold (64 KiB) and its 16-byte SIMD steps, up to 3 MiB.
      const sizes = [65535, 65536, 65537, 65551, 100_003, 1 << 20, (3 << 20) + 5, 70_000, 65536, 1 << 20];
      const message = (i: number, size: number): Uint8Array => {
        const m = new Uint8Array(size);
        for (let j = 0; j < size; j += 61) m[j] = (i * 37 + j) & 0xff;
        m[size - 1] = i;
        return m;
      };
      // A burst: sends queue behind writes the socket has not finished.
      sizes.forEach((size, i) => ws.send(message(i, size)));
      await until(sizes.length);
      // One by one: each write is done before the next send (the home is reused).
      for (let i = 0; i < sizes.length; i++) {
        ws.send(message(100 + i, sizes[i]));
        await until(sizes.length + i + 1);
      }
      const expected = [...sizes.map((size, i) => message(i, size)), ...sizes.map((size, i) => message(100 + i, size))];
      expected.forEach((m, i) => assert.ok(Buffer.from(received[i]).equals(Buffer.from(m)), `message ${i} (${m.length} bytes) came back intact`));
      ws.close();
      await once(ws, "close");
    });

    test("subprotocol negotiation: the server's choice among those offered", async () => {
      const ws = new WebSocket(server.url, ["nope", "chat.v2"]);
      await once(ws, "open");
      assert.equal(ws.protocol, "chat.v2");
      ws.close();
      await once(ws, "close");
      // WHATWG: "establish a WebSocket connection": subprotocols were offered and the
      // server acknowledged none: the connection fails (error, then close 1006, not clean).
      const none = new WebSocket(server.url, ["nope"]);
      const r = record(none);
      const e = await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
      assert.deepEqual([e.wasClean, none.protocol, none.readyState], [false, "", WebSocket.CLOSED]);
    });

    test("client-initiated close with a code and UTF-8 reason is clean", async () => {
      const ws = new WebSocket(server.url);
      const r = record(ws);
      await once(ws, "open");
      ws.close(4001, "fermé ✓");
      const e = await r.closed;
      assert.deepEqual([e.code, e.wasClean], [4001, true]);
      assert.deepEqual(r.log, ["open", "close:4001"]);
    });

    // The Python echo server has no close command; its server-side closes are tested below.
    if (peer.closeCommand) test("server-initiated close with a code and UTF-8 reason", async () => {
      const ws = new WebSocket(server.url);
      const r = record(ws);
      await once(ws, "open");
      ws.send("close 4002 server ✓ bye");
      const e = await r.closed;
      assert.deepEqual([e.code, e.reason, e.wasClean], [4002, "server ✓ bye", true]);
      assert.deepEqual(r.log, ["open", "close:4002"]);
    });

    test("with permessage-deflate negotiated: extensions and round trips", async () => {
      const ws = new WebSocket(server.url, [], { perMessageDeflate: { threshold: 0 } });
      await once(ws, "open");
      assert.match(ws.extensions, /^permessage-deflate/);
      const text = "squeeze ".repeat(5000);
      ws.send(text);
      assert.equal((await once(ws, "message")).data, text);
      ws.send("tiny");
      assert.equal((await once(ws, "message")).data, "tiny");
      const random = new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24);
      ws.binaryType = "arraybuffer";
      ws.send(random);
      assert.ok(Buffer.from((await once(ws, "message")).data).equals(Buffer.from(random)));
      ws.close(4003);
      assert.equal((await record(ws).closed).code, 4003);
    });

    test("wss:// with a self-signed certificate: trusted through `ca`, refused without it", async () => {
      const tls = await peer.start(true);
      try {
        const ok = new WebSocket(tls.url, ["chat.v1"], { ca: selfSignedCert().cert });
        await once(ok, "open");
        assert.equal(ok.protocol, "chat.v1");
        ok.send("secure ✓");
        assert.equal((await once(ok, "message")).data, "secure ✓");
        ok.close(1000);
        assert.equal((await record(ok).closed).wasClean, true);
        const bad = new WebSocket(tls.url);
        const r = record(bad);
        const e = await r.closed;
        assert.deepEqual(r.log, ["error", "close:1006"]);
        assert.equal(e.wasClean, false);
      } finally {
        await tls.stop();
      }
    });
  });
}

describe("closes by Python websockets", { skip: pythonSkip }, () => {
  test("a message over the server's limit: the server closes with 1009", async () => {
    const py = await startPythonEchoServer({ maxSize: 1024 });
    try {
      const ws = new WebSocket(py.url);
      const r = record(ws);
      await once(ws, "open");
      ws.send(new Uint8Array(2048));
      const e = await r.closed;
      assert.equal(e.code, 1009);
      assert.deepEqual(r.log, ["open", "close:1009"]);
    } finally {
      await py.stop();
    }
  });

  test("the server process killed: close 1006, not clean, and no error event (not a failure)", async () => {
    const py = await startPythonEchoServer();
    const ws = new WebSocket(py.url);
    const r = record(ws);
    await once(ws, "open");
    ws.send("alive?");
    assert.equal((await once(ws, "message")).data, "alive?");
    await py.process.kill("SIGKILL");
    const e = await r.closed;
    assert.deepEqual([e.code, e.wasClean], [1006, false]);
    assert.deepEqual(r.log, ["open", "message:alive?", "close:1006"]);
  });
});
