// Faults and abuse: each test asserts the outcome and that a normal connection on the same
// server keeps working afterwards.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { closePayload, connectRaw, exchange, rawFrame } from "../support/raw-peer.js";
import { startEchoServer, waitFor, type EchoServer } from "../support/echo-server.js";

async function stillServes(server: EchoServer): Promise<void> {
  const peer = await connectRaw(server.port);
  peer.send({ opcode: 1, payload: "still alive" });
  assert.equal((await peer.nextFrame())!.payload.toString(), "still alive");
  peer.destroy();
}

let uncaught = 0;
process.on("uncaughtException", () => void uncaught++);

describe("peers that reset the TCP connection", () => {
  test("mid-frame", async () => {
    const server = await startEchoServer();
    const peer = await connectRaw(server.port);
    peer.write(rawFrame({ opcode: 2, payload: Buffer.alloc(1000) }).subarray(0, 300));
    await waitFor(() => server.wss.clients.size === 1, 2000, "connected");
    peer.socket.resetAndDestroy();
    await waitFor(() => server.wss.clients.size === 0, 5000, "cleanup");
    assert.equal(server.closes.at(-1)?.code, 1006);
    await stillServes(server);
    await server.close();
  });

  test("mid-handshake", async () => {
    const server = await startEchoServer();
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConn");
    await new Promise((r) => setTimeout(r, 50));
    socket.resetAndDestroy();
    await stillServes(server);
    await waitFor(() => server.wss.clients.size === 0, 5000, "no connection left");
    await server.close();
  });

  test("mid-close", async () => {
    const server = await startEchoServer();
    const peer = await connectRaw(server.port);
    await waitFor(() => server.wss.clients.size === 1, 2000, "connected");
    for (const ws of server.wss.clients) ws.close(1000);
    await peer.nextFrame();
    peer.socket.resetAndDestroy();
    await waitFor(() => server.wss.clients.size === 0, 5000, "cleanup");
    await stillServes(server);
    await server.close();
  });
});

describe("dead and slow peers", () => {
  test("a half-open peer (stops reading, never closes) is dropped by the idle timeout and its buffers freed", async () => {
    const server = await startEchoServer({ idleTimeout: 400, maxBackpressure: 64 * 1024 });
    const peer = await connectRaw(server.port);
    peer.socket.pause(); // reads nothing, answers no ping, sends nothing
    await waitFor(() => server.wss.clients.size === 1, 2000, "connected");
    const ws = [...server.wss.clients][0];
    for (let i = 0; i < 200; i++) ws.send(Buffer.alloc(16 * 1024)); // backpressure builds up
    assert.ok(ws.bufferedAmount > 0);
    await waitFor(() => server.wss.clients.size === 0, 5000, "idle timeout");
    assert.equal(ws.readyState, 3);
    assert.equal(ws.bufferedAmount, 0, "buffered data released");
    assert.equal(server.closes.at(-1)?.code, 1006);
    peer.destroy();
    await stillServes(server);
    await server.close();
  });

  test("a live but quiet peer is pinged at half the idle timeout and stays connected", async () => {
    const server = await startEchoServer({ idleTimeout: 400 });
    const peer = await connectRaw(server.port);
    const ping = await peer.nextFrame(3000);
    assert.equal(ping!.opcode, 0x9);
    peer.send({ opcode: 0xa, payload: ping!.payload });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.wss.clients.size, 1, "answering pings keeps the connection");
    peer.destroy();
    await server.close();
  });

  test("slowloris: a handshake trickled byte by byte is dropped at the handshake timeout; 200 of them do not block a normal client", async () => {
    const server = await startEchoServer({ handshakeTimeout: 600 });
    const request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const slow = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const s = connect(server.port, "127.0.0.1");
        s.on("error", () => {});
        await new Promise((r) => s.once("connect", r));
        return s;
      }),
    );
    let closed = 0;
    for (const s of slow) s.once("close", () => closed++);
    let i = 0;
    const trickle = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write(request[i % request.length]);
      i++;
    }, 100);
    try {
      await stillServes(server); // a normal client gets through meanwhile
      // Node's HTTP server checks request timeouts on an interval; allow a few rounds.
      await waitFor(() => closed === slow.length, 15_000, "slow peers dropped");
      assert.ok(i < request.length, "dropped before the request could be completed");
    } finally {
      clearInterval(trickle);
      for (const s of slow) s.destroy();
    }
    await server.close();
  });
});

describe("header floods", () => {
  test("thousands of headers, a 1 MiB header line, a 100,000-entry protocol list: 431 or 400, and the server lives", async () => {
    const server = await startEchoServer();
    const base = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const floods = [
      base + Array.from({ length: 5000 }, (_, i) => `X-H${i}: v\r\n`).join("") + "\r\n",
      base + `X-Big: ${"a".repeat(1024 * 1024)}\r\n\r\n`,
      base + `Sec-WebSocket-Protocol: ${Array.from({ length: 100_000 }, (_, i) => `p${i}`).join(", ")}\r\n\r\n`,
      base + `Sec-WebSocket-Extensions: ${Array.from({ length: 100_000 }, () => "permessage-deflate").join(", ")}\r\n\r\n`,
    ];
    for (const flood of floods) {
      const { head, socket } = await exchange(server.port, flood).catch(() => ({ head: "reset", socket: null }));
      assert.match(head, /^(HTTP\/1\.1 (431|400)|reset|$)/, head.slice(0, 40));
      socket?.destroy();
    }
    await stillServes(server);
    await server.close();
  });
});

describe("header limits", () => {
  test("more than maxHeaderCount headers (within the byte limit) get 431; at the limit they pass", async () => {
    const server = await startEchoServer({ maxHeaderCount: 20 });
    const base = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const extra = (n: number): string => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join("");
    const over = await exchange(server.port, base + extra(16) + "\r\n"); // 5 + 16 = 21 headers
    assert.match(over.head, /^HTTP\/1\.1 431/);
    over.socket.destroy();
    const at = await exchange(server.port, base + extra(15) + "\r\n"); // 20 headers
    assert.match(at.head, /^HTTP\/1\.1 101/);
    at.socket.destroy();
    await server.close();
  });

  test("a request head over maxHeaderBytes gets 431", async () => {
    const server = await startEchoServer({ maxHeaderBytes: 4096 });
    const { head, socket } = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(5000)}\r\n\r\n`);
    assert.match(head, /^HTTP\/1\.1 431/);
    socket.destroy();
    await stillServes(server);
    await server.close();
  });
});

describe("oversized messages", () => {
  test("a 64 MiB message against a 1 MiB limit: 1009 at the header, and memory does not grow with it", async () => {
    const server = await startEchoServer({ maxPayload: 1024 * 1024 });
    const peer = await connectRaw(server.port);
    const before = process.memoryUsage().arrayBuffers;
    const header = rawFrame({ opcode: 2, payload: Buffer.alloc(0) });
    // A header announcing 64 MiB, then 8 MiB of payload bytes the server must not keep.
    const big = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x04, 0, 0, 0, 1, 2, 3, 4]);
    void header;
    peer.write(big);
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 8 && !peer.socket.destroyed; i++) peer.write(chunk);
    assert.equal((await peer.readUntilClose()).code, 1009);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 24 * 1024 * 1024, `arrayBuffers grew by ${grown}`);
    peer.destroy();
    await stillServes(server);
    await server.close();
  });
});

describe("bad input never throws into the event loop", () => {
  test("a burst of every kind of bad frame on many connections: exact codes, no uncaught exception", async () => {
    const server = await startEchoServer();
    const cases: Array<[Buffer, number]> = [
      [rawFrame({ opcode: 1, payload: Buffer.from([0xff]) }), 1007],
      [rawFrame({ opcode: 8, payload: closePayload(1000, Buffer.from([0xc0])) }), 1007],
      [rawFrame({ opcode: 8, payload: closePayload(1005) }), 1002],
      [rawFrame({ opcode: 1, payload: "x", rsv2: true }), 1002],
      [rawFrame({ opcode: 0xb }), 1002],
      [rawFrame({ opcode: 0 }), 1002],
      [rawFrame({ opcode: 1, payload: "x", mask: false }), 1002],
    ];
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        cases.map(async ([bytes, code]) => {
          const peer = await connectRaw(server.port);
          peer.write(bytes);
          assert.equal((await peer.readUntilClose()).code, code);
          await peer.waitEnd();
        }),
      );
    }
    assert.equal(uncaught, 0);
    await stillServes(server);
    await server.close();
  });
});
