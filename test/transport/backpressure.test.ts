// Every byte accepted for sending counts until the operating system has it: bytes waiting for
// compression too (server `send` statuses, `bufferedAmount` on both sides); close() behind a
// compression is CLOSING at once; bytes handed to a stream never change afterwards; maxPayload
// applies to the message as the application receives it, compressed or not.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import { describe, test, type TestContext } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { ReadyState } from "../../src/protocol/connection.js";
import { SendStatus } from "../../src/server/send-status.js";
import { Transport, type TransportOwner } from "../../src/transport/transport.js";
import { startEchoServer, type EchoServer, type EchoServerOptions } from "../helpers/echo-server.js";
import { connectRaw } from "../helpers/raw-client.js";

const KB = 1000;
const MiB = 1024 * 1024;

/** The echo fixture; the tests replace its echo where they need another reply. */
const startServer = (t: TestContext, options: EchoServerOptions): Promise<EchoServer> => startEchoServer(t, options);

function openClient(t: TestContext, url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, [], options);
  t.after(() => ws.close());
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("client failed to open"));
  });
}

describe("backpressure counts bytes waiting for compression", () => {
  test("server: 200 sends of 100 KB against maxBackpressure 1 MiB to a reader that stopped: most are Dropped, bufferedAmount counts them", async (t) => {
    let statuses: number[] = [];
    let buffered = 0;
    let sent!: () => void;
    const allSent = new Promise<void>((resolve) => (sent = resolve));
    const server = await startServer(t, {
      perMessageDeflate: true,
      maxBackpressure: MiB,
      message(ws) {
        const chunk = randomBytes(100 * KB);
        statuses = [];
        for (let i = 0; i < 200; i++) statuses.push(ws.send(chunk));
        buffered = ws.bufferedAmount;
        sent();
      },
    });
    const c = await connectRaw(server.port, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
    t.after(() => c.destroy());
    assert.match(String(c.response.headers["sec-websocket-extensions"]), /permessage-deflate/);
    c.socket.pause();
    c.sendText("go");
    await allSent;
    const accepted = statuses.filter((s) => s !== SendStatus.Dropped).length;
    assert.ok(accepted <= 12, `${accepted} of 200 accepted with a 1 MiB limit`);
    assert.ok(accepted >= 10, `${accepted} of 200 accepted: the limit lets about 1 MiB through`);
    assert.ok(buffered >= 10 * 100 * KB, `bufferedAmount ${buffered} counts the bytes waiting for compression`);
  });

  test("client: `while (ws.bufferedAmount < limit) ws.send(chunk)` stops, with compression negotiated", async (t) => {
    const server = await startServer(t, { perMessageDeflate: true });
    const ws = await openClient(t, `ws://127.0.0.1:${server.port}/`, { perMessageDeflate: true });
    assert.match(ws.extensions, /permessage-deflate/);
    const chunk = randomBytes(100 * KB);
    let sends = 0;
    while (ws.bufferedAmount < MiB && sends < 1000) {
      ws.send(chunk);
      sends++;
    }
    assert.ok(sends <= 11, `${sends} sends before bufferedAmount reached 1 MiB`);
    assert.ok(ws.bufferedAmount >= MiB);
  });
});

describe("close() behind a compression in flight", () => {
  test("server: readyState is CLOSING at once, a later send reports Dropped, the earlier message still arrives before the close", async (t) => {
    let after: { state: number; status: number } | null = null;
    const server = await startServer(t, {
      perMessageDeflate: { threshold: 0 },
      message(ws) {
        ws.send("compressed first");
        ws.close(1000, "bye");
        after = { state: ws.readyState, status: ws.send("too late") };
      },
    });
    const ws = await openClient(t, `ws://127.0.0.1:${server.port}/`, { perMessageDeflate: true });
    const received: string[] = [];
    ws.onmessage = (e) => received.push(String(e.data));
    ws.send("go");
    const close = await new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })));
    assert.deepEqual(after, { state: ReadyState.CLOSING, status: SendStatus.Dropped });
    assert.deepEqual(received, ["compressed first"]);
    assert.deepEqual(close, { code: 1000, reason: "bye" });
  });
});

describe("bytes handed to a stream never change afterwards", () => {
  /** A Duplex that keeps written chunks by reference and completes each write at once. */
  class KeepingDuplex extends Duplex {
    readonly chunks: Buffer[] = [];
    override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
      this.chunks.push(chunk);
      callback();
    }
    override _read(): void {}
  }

  test("two messages over a Duplex that holds chunks by reference arrive as sent", async () => {
    const duplex = new KeepingDuplex();
    const owner: TransportOwner = { onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onDrain() {}, onError() {}, onHandlerError() {}, onClosed() {} };
    const transport = new Transport(duplex, owner, { isServer: true, maxPayload: MiB, closeTimeout: 1000, idleTimeout: 0 });
    transport.start();
    transport.send("first message", false);
    transport.flush();
    transport.send("SECOND-MSG!!!", false);
    transport.flush();
    const wire = Buffer.concat(duplex.chunks);
    const payloads: string[] = [];
    for (let at = 0; at < wire.length; ) {
      const length = wire[at + 1] & 0x7f;
      payloads.push(wire.subarray(at + 2, at + 2 + length).toString());
      at += 2 + length;
    }
    assert.deepEqual(payloads, ["first message", "SECOND-MSG!!!"]);
    transport.terminate();
  });
});

describe("maxPayload applies to the message as the application receives it", () => {
  for (const compress of [false, true]) {
    test(`server, ${compress ? "compressed" : "uncompressed"}: exactly maxPayload incompressible bytes pass, one more is 1009`, async (t) => {
      const limit = 256 * 1024;
      const server = await startServer(t, { maxPayload: limit, perMessageDeflate: compress ? { threshold: 0 } : false, message: (ws, data) => void ws.send(String(data.length)) });
      for (const [size, expected] of [[limit, `echo ${limit}`], [limit + 1, "close 1009"]] as const) {
        const ws = await openClient(t, `ws://127.0.0.1:${server.port}/`, { perMessageDeflate: compress });
        assert.equal(ws.extensions !== "", compress);
        ws.send(randomBytes(size));
        const outcome = await new Promise<string>((resolve) => {
          ws.onmessage = (e) => resolve(`echo ${e.data}`);
          ws.onclose = (e) => resolve(`close ${e.code}`);
        });
        assert.equal(outcome, expected, `${size} bytes`);
        ws.close();
      }
    });

    test(`client, ${compress ? "compressed" : "uncompressed"}: exactly maxPayload passes, one more fails the connection (1009 to the server)`, async (t) => {
      const limit = 256 * 1024;
      const server = await startServer(t, {
        perMessageDeflate: compress ? { threshold: 0 } : false,
        message: (ws, data) => void ws.send(randomBytes(Number(data.toString()))),
      });
      for (const [size, ok] of [[limit, true], [limit + 1, false]] as const) {
        const ws = await openClient(t, `ws://127.0.0.1:${server.port}/`, { perMessageDeflate: compress, maxPayload: limit });
        ws.binaryType = "arraybuffer";
        ws.send(String(size));
        const outcome = await new Promise<string>((resolve) => {
          ws.onmessage = (e) => resolve(`message ${(e.data as ArrayBuffer).byteLength}`);
          ws.onclose = (e) => resolve(`close ${e.code}`);
        });
        ws.close();
        assert.equal(outcome, ok ? `message ${size}` : "close 1006", `${size} bytes`);
      }
      await server.closedWith(1009);
    });
  }

  test("default maxPayload (16 MiB) with compression: 16,777,215 and 16,777,216 incompressible bytes pass", async (t) => {
    const server = await startServer(t, { perMessageDeflate: { threshold: 0 }, message: (ws, data) => void ws.send(String(data.length)) });
    const ws = await openClient(t, `ws://127.0.0.1:${server.port}/`, { perMessageDeflate: true });
    const big = randomBytes(16 * MiB);
    const replies: string[] = [];
    const two = new Promise<void>((resolve) => {
      ws.onmessage = (e) => {
        replies.push(String(e.data));
        if (replies.length === 2) resolve();
      };
      ws.onclose = (e) => {
        replies.push(`close ${e.code}`);
        resolve();
      };
    });
    ws.send(big.subarray(0, 16 * MiB - 1));
    ws.send(big);
    await two;
    assert.deepEqual(replies, [String(16 * MiB - 1), String(16 * MiB)]);
  });
});
