// Floods that once made one connection cost hundreds of MiB: a message in millions of tiny
// fragments, empty fragments without end, pings from a peer that never reads. Each runs beside
// an honest connection that must keep getting its echoes, and memory is measured after a forced
// GC against a bound derived from the limits (maxPayload + 1 MiB), not from a quiet machine.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { describe, test, type TestContext } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { computeAccept } from "../../src/protocol/handshake.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { startEchoServer, type EchoServer, type EchoServerOptions } from "../helpers/echo-server.js";
import { retainedBytes } from "../helpers/memory.js";
import { connectRaw, Opcode, type RawClient } from "../helpers/raw-client.js";

const MiB = 1024 * 1024;

/** `count` masked frames (zero mask key) of `opcode` with `payload` bytes each (< 126), FIN unset unless `fin`. */
function repeatFrames(count: number, opcode: number, payloadByte: number | null, fin = false): Buffer {
  const size = payloadByte === null ? 6 : 7;
  const out = Buffer.alloc(count * size);
  for (let i = 0, at = 0; i < count; i++, at += size) {
    out[at] = (fin ? 0x80 : 0) | opcode;
    out[at + 1] = 0x80 | (payloadByte === null ? 0 : 1);
    // mask key 0: the payload byte is sent as is
    if (payloadByte !== null) out[at + 6] = payloadByte;
  }
  return out;
}

/** The echo fixture, recording every message; only small messages are echoed (floods are not). */
function startServer(t: TestContext, options: EchoServerOptions = {}): Promise<EchoServer> {
  return startEchoServer(t, {
    record: true,
    message(ws, data, isBinary) {
      if (data.length < 1024) ws.send(data, isBinary);
    },
    ...options,
  });
}

/** Resolves once the server-side socket has read `bytes` bytes in all (event-driven). */
function serverHasRead(ws: ServerWebSocket<unknown>, bytes: number): Promise<void> {
  const socket = ws.transport.socket as Duplex & { bytesRead: number };
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (socket.bytesRead >= bytes) {
        cleanup();
        resolve();
      }
    };
    const closed = (): void => {
      cleanup();
      reject(new Error(`the server socket closed after reading ${socket.bytesRead} of ${bytes} bytes`));
    };
    const cleanup = (): void => {
      socket.removeListener("data", check);
      socket.removeListener("close", closed);
    };
    socket.on("data", check);
    socket.on("close", closed);
    check();
  });
}

/** An honest connection still gets an echo of a fresh message. */
async function honestEcho(port: number, t: TestContext): Promise<void> {
  const c = await connectRaw(port);
  t.after(() => c.destroy());
  c.sendText("still served?");
  const frame = await c.nextFrame();
  assert.equal(frame.payload.toString(), "still served?");
  c.sendClose(1000);
}

async function attacker(port: number, t: TestContext): Promise<RawClient> {
  const c = await connectRaw(port);
  t.after(() => c.destroy());
  return c;
}

describe("hardening: fragment floods (memory bounded by maxPayload, fragment count limited)", () => {
  test("1,000,000 one-byte fragments under maxPayload 1 MiB: the message in progress holds about 1 MiB, not a view per fragment", async (t) => {
    const maxPayload = MiB;
    const count = 1_000_000;
    const server = await startServer(t, { maxPayload, maxFragments: 2_000_000 });
    const c = await attacker(server.port, t);
    await honestEcho(server.port, t);
    const first = repeatFrames(1, Opcode.BINARY, 1);
    const rest = repeatFrames(count - 2, Opcode.CONTINUATION, 2);
    const last = repeatFrames(1, Opcode.CONTINUATION, 3, true);
    const before = retainedBytes();
    const ws = server.connections[0];
    const readBefore = (ws.transport.socket as Duplex & { bytesRead: number }).bytesRead;
    c.write(first);
    c.write(rest);
    await serverHasRead(ws, readBefore + first.length + rest.length);
    const during = retainedBytes() - before;
    // The message buffer (≤ maxPayload) plus socket and parser slack; views kept per fragment
    // (≈130 B each) would be over 100 MiB.
    assert.ok(during <= maxPayload + MiB, `holding ${count - 1} fragments grew memory by ${(during / MiB).toFixed(1)} MiB`);
    await honestEcho(server.port, t);
    c.write(last);
    c.sendText("after");
    assert.equal((await c.nextFrame()).payload.toString(), "after");
    assert.ok(server.received.some((m) => m.length === count), "the flooded message was delivered whole");
  });

  test("the whole fragmented message arrives intact (1,000,000 one-byte fragments, byte-exact)", async (t) => {
    const server = await startServer(t, { maxPayload: MiB, maxFragments: 2_000_000 });
    const c = await attacker(server.port, t);
    const count = 1_000_000;
    c.write(repeatFrames(1, Opcode.BINARY, 0));
    const middle = Buffer.alloc((count - 2) * 7);
    for (let i = 0; i < count - 2; i++) {
      middle[i * 7 + 1] = 0x81;
      middle[i * 7 + 6] = (i + 1) & 0xff;
    }
    c.write(middle);
    c.write(repeatFrames(1, Opcode.CONTINUATION, (count - 1) & 0xff, true));
    c.sendText("after");
    assert.equal((await c.nextFrame()).payload.toString(), "after");
    const message = server.received[0];
    assert.equal(message.length, count);
    for (let i = 0; i < count; i++) if (message[i] !== (i & 0xff)) assert.fail(`byte ${i} is ${message[i]}`);
  });

  test("default maxFragments: 131,073 empty fragments close with 1008; an honest connection is served throughout", async (t) => {
    const server = await startServer(t);
    const c = await attacker(server.port, t);
    c.write(repeatFrames(1, Opcode.TEXT, null));
    c.write(repeatFrames(131_072, Opcode.CONTINUATION, null));
    await honestEcho(server.port, t);
    const { skipped } = await c.expectClose(1008);
    assert.equal(skipped.length, 0, "nothing was delivered before the close");
    await server.closedWith(1008);
    assert.deepEqual(server.closes.map(({ code }) => code).filter((code) => code === 1008), [1008]);
    assert.equal(server.received.filter((m) => m.length === 0).length, 0, "the flooded message was never delivered");
  });

  test("legitimate fragmentation passes at the defaults: 4 MiB in 64-byte fragments (65,536) arrives byte-exact", async (t) => {
    const server = await startServer(t);
    const c = await attacker(server.port, t);
    const payload = Buffer.alloc(4 * MiB);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const frames: Buffer[] = [];
    for (let at = 0, i = 0; at < payload.length; at += 64, i++) {
      const piece = payload.subarray(at, at + 64);
      const header = Buffer.from([(at + 64 >= payload.length ? 0x80 : 0) | (i === 0 ? Opcode.BINARY : Opcode.CONTINUATION), 0x80 | 64, 0, 0, 0, 0]);
      frames.push(header, piece);
    }
    c.write(Buffer.concat(frames));
    c.sendText("done");
    assert.equal((await c.nextFrame()).payload.toString(), "done");
    assert.equal(server.received.length, 2);
    assert.ok(server.received[0].equals(payload), "the 4 MiB message is byte-exact");
  });
});

describe("hardening: the client against fragment floods", () => {
  /** A raw server: completes the handshake by hand, then writes `bytes` (unmasked frames). */
  async function rawServer(t: TestContext, bytes: () => Buffer): Promise<{ url: string; fromClient: Promise<Buffer> }> {
    let resolveFromClient!: (b: Buffer) => void;
    const fromClient = new Promise<Buffer>((resolve) => (resolveFromClient = resolve));
    const server = createServer();
    // Upgraded sockets leave the HTTP server's bookkeeping: track them to release them.
    const upgraded = new Set<Duplex>();
    server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
      upgraded.add(socket);
      const chunks: Buffer[] = [];
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.on("error", () => {});
      socket.on("close", () => resolveFromClient(Buffer.concat(chunks)));
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(String(req.headers["sec-websocket-key"]))}\r\n\r\n`);
      socket.write(bytes());
      // Close TCP once the client has answered (or after it failed the connection).
      socket.on("end", () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of upgraded) socket.destroy();
      server.closeAllConnections();
      server.close();
    });
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, fromClient };
  }

  test("131,073 empty fragments: the client fails the connection with 1008 (close event 1006, not clean)", async (t) => {
    const unmasked = (count: number, opcode: number): Buffer => {
      const b = Buffer.alloc(count * 2);
      for (let i = 0; i < count; i++) b[i * 2] = opcode;
      return b;
    };
    const server = await rawServer(t, () => Buffer.concat([unmasked(1, Opcode.TEXT), unmasked(131_072, Opcode.CONTINUATION)]));
    const ws = new WebSocket(server.url);
    t.after(() => ws.close());
    const events: string[] = [];
    ws.onerror = () => events.push("error");
    ws.onmessage = () => events.push("message");
    const close = await new Promise<{ code: number; wasClean: boolean }>((resolve) => (ws.onclose = (e) => resolve(e as unknown as { code: number; wasClean: boolean })));
    assert.deepEqual(events, ["error"]);
    assert.equal(close.code, 1006);
    assert.equal(close.wasClean, false);
    const sent = await server.fromClient;
    // The client's close frame: FIN + close opcode, masked, 2-byte code 1008.
    assert.equal(sent[0], 0x88);
    const key = sent.subarray(2, 6);
    assert.equal(((sent[6] ^ key[0]) << 8) | (sent[7] ^ key[1]), 1008);
  });

  test("the client's maxFragments option is honoured (10 allowed, 11 refused)", async (t) => {
    const frames = (count: number): Buffer => {
      const parts = [Buffer.from([0x02, 0x01, 0x61])];
      for (let i = 1; i < count - 1; i++) parts.push(Buffer.from([0x00, 0x01, 0x61]));
      parts.push(Buffer.from([0x80, 0x01, 0x61]));
      return Buffer.concat(parts);
    };
    for (const [count, ok] of [[10, true], [11, false]] as const) {
      const server = await rawServer(t, () => frames(count));
      const ws = new WebSocket(server.url, [], { maxFragments: 10 });
      ws.binaryType = "arraybuffer";
      const outcome = await new Promise<string>((resolve) => {
        ws.onmessage = (e) => resolve(`message ${(e.data as ArrayBuffer).byteLength}`);
        ws.onclose = (e) => resolve(`close ${e.code}`);
      });
      ws.close();
      assert.equal(outcome, ok ? `message ${count}` : "close 1006", `${count} fragments`);
    }
  });
});

describe("hardening: ping floods from a peer that never reads", () => {
  test("400,000 pings of 125 bytes: pending pongs coalesce, memory stays bounded, the honest connection is served", async (t) => {
    const server = await startServer(t);
    const c = await attacker(server.port, t);
    c.socket.pause(); // never reads: our pongs pile up unless they coalesce
    const ws = server.connections[0];
    const readBefore = (ws.transport.socket as Duplex & { bytesRead: number }).bytesRead;
    // 10,000 pings with 125-byte payloads (zero mask key): 1.3 MB a batch, 52 MB of pongs owed in all,
    // far past what the kernel's socket buffers absorb.
    const one = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 0x70)]);
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => one));
    const before = retainedBytes();
    for (let i = 0; i < 40; i++) c.write(batch);
    await serverHasRead(ws, readBefore + 40 * batch.length);
    const grown = retainedBytes() - before;
    assert.ok(grown <= MiB, `400,000 unanswered pings grew memory by ${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(ws.bufferedAmount <= 256 * 1024, `the server holds ${ws.bufferedAmount} bytes for this peer`);
    await honestEcho(server.port, t);
  });

  test("a peer that keeps the queue over maxBackpressure by pinging meets backpressurePolicy 'close'", async (t) => {
    const server = await startServer(t, {
      backpressurePolicy: "close",
      maxBackpressure: 64 * 1024,
      closeTimeout: 200,
      open(ws) {
        ws.send(Buffer.alloc(4 * MiB)); // the peer will never read this
      },
    });
    const c = await attacker(server.port, t);
    c.socket.pause();
    const ws = server.connections[0];
    assert.ok(ws.bufferedAmount > 64 * 1024, "the queue is over the limit");
    const closed = new Promise<void>((resolve) => (ws.transport.socket as Duplex).once("close", () => resolve()));
    c.write(repeatFrames(1, Opcode.PING, null, true));
    await closed;
    await server.closedWith(1006);
    assert.equal(server.closes.length, 1, "the connection was closed by the policy");
    assert.ok(server.wss.droppedMessages >= 1);
  });
});
