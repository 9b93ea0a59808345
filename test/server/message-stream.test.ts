// Opt-in streaming on the server: the messageStream handler receives each message as a
// stream of its pieces (backpressure pauses the socket; maxPayload bounds the whole
// message), and ws.sendStream() sends a message as fragments while a source produces them.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import WebSocket from "ws";
import type { MessageStream } from "../../src/server/message-stream.js";
import type { WebSocketServerOptions } from "../../src/server/options.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { connectRaw, Opcode, type RawFrame } from "../helpers/raw-client.js";

async function start(t: { after(fn: () => unknown): void }, options: Partial<WebSocketServerOptions<unknown>>): Promise<WebSocketServer<unknown>> {
  // A raw client that never answers a close frame holds a connection for closeTimeout.
  const wss = new WebSocketServer<unknown>({ port: 0, host: "127.0.0.1", closeTimeout: 500, ...options } as WebSocketServerOptions<unknown>);
  await wss.ready();
  t.after(() => wss.close());
  return wss;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Reads frames until a FIN data frame; returns the data frames. */
async function readMessage(c: { nextFrame(ms?: number): Promise<RawFrame> }): Promise<RawFrame[]> {
  const frames: RawFrame[] = [];
  for (;;) {
    const f = await c.nextFrame(10_000);
    if (f.opcode >= 0x8) continue;
    frames.push(f);
    if (f.fin) return frames;
  }
}

describe("messageStream (streaming receive)", { timeout: 120_000 }, () => {
  test("a fragmented message arrives in pieces, in order, before it is complete", async (t) => {
    const seen: Array<{ isBinary: boolean; pieces: number; bytes: Buffer }> = [];
    let firstPieceBeforeEnd = false;
    let sendRest: () => void = () => {};
    const wss = await start(t, {
      async messageStream(_ws, message, isBinary) {
        const parts: Buffer[] = [];
        for await (const chunk of message) {
          parts.push(chunk as Buffer);
          if (parts.length === 1) {
            firstPieceBeforeEnd = true;
            sendRest();
          }
        }
        seen.push({ isBinary, pieces: parts.length, bytes: Buffer.concat(parts) });
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    const a = pattern(100_000, 1);
    const b = pattern(50_000, 2);
    // The second fragment is sent only once the handler has the first piece.
    sendRest = () => {
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: b, fin: true });
      c.sendText("after");
    };
    c.sendFrame({ opcode: Opcode.BINARY, payload: a, fin: false });
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(firstPieceBeforeEnd, true);
    assert.equal(seen.length, 2);
    assert.equal(seen[0].isBinary, true);
    assert.ok(seen[0].bytes.equals(Buffer.concat([a, b])));
    assert.ok(seen[0].pieces >= 2);
    assert.deepEqual([seen[1].isBinary, seen[1].bytes.toString()], [false, "after"]);
  });

  test("a consumer that does not read pauses the socket; reading again gets the whole message", async (t) => {
    let stream: MessageStream | null = null;
    let server: ServerWebSocket<unknown> | null = null;
    const wss = await start(t, {
      maxPayload: 256 << 20,
      messageStream(ws, message) {
        server = ws;
        stream = message; // not read yet
      },
    });
    const client = new WebSocket(`ws://127.0.0.1:${wss.port}/`);
    t.after(() => client.terminate());
    await new Promise((r) => client.once("open", r));
    const SIZE = 64 << 20;
    const payload = pattern(SIZE, 5);
    client.send(payload, { binary: true });
    const until = async (what: string, p: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!p()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    await until("the stream to start", () => stream !== null);
    const socket = (server as unknown as { transport: { socket: { isPaused(): boolean; bytesRead: number } } }).transport.socket;
    await until("the server socket to pause", () => socket.isPaused());
    assert.ok(socket.bytesRead < SIZE / 2, `${socket.bytesRead} of ${SIZE} bytes read while nobody reads the stream`);
    const parts: Buffer[] = [];
    for await (const chunk of stream!) parts.push(chunk as Buffer);
    assert.ok(Buffer.concat(parts).equals(payload));
  });

  test("maxPayload applies to the whole streamed message: 1009, and the stream errors", async (t) => {
    let streamError: unknown = null;
    let delivered = 0;
    const wss = await start(t, {
      maxPayload: 100_000,
      async messageStream(_ws, message) {
        try {
          for await (const chunk of message) delivered += (chunk as Buffer).length;
        } catch (e) {
          streamError = e;
        }
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    c.sendFrame({ opcode: Opcode.BINARY, payload: pattern(60_000, 1), fin: false });
    c.sendFrame({ opcode: Opcode.CONTINUATION, payload: pattern(60_000, 2), fin: true });
    await c.expectClose(1009);
    const deadline = Date.now() + 5000;
    while (streamError === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.ok(streamError instanceof Error, "the consumer learns the message was cut short");
    assert.ok(delivered <= 100_000);
  });

  test("a handler that throws or rejects closes that connection with 1011; the server goes on", async (t) => {
    let calls = 0;
    const wss = await start(t, {
      messageStream(_ws, message) {
        calls++;
        message.resume();
        if (calls === 1) throw new Error("sync failure");
        return Promise.reject(new Error("async failure"));
      },
    });
    for (let i = 0; i < 2; i++) {
      const c = await connectRaw(wss.port);
      c.sendText("x");
      await c.expectClose(1011);
      c.destroy();
    }
    assert.equal(calls, 2);
  });
});

describe("sendStream (streaming send)", { timeout: 120_000 }, () => {
  test("echo: a streamed message goes out as fragments while it arrives, and equals what was sent", async (t) => {
    const wss = await start(t, {
      maxPayload: 64 << 20,
      async messageStream(ws, message, isBinary) {
        await ws.sendStream(message, isBinary);
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    const parts = [pattern(200_000, 1), pattern(300_000, 2), pattern(1, 3)];
    c.sendFrame({ opcode: Opcode.BINARY, payload: parts[0], fin: false });
    c.sendFrame({ opcode: Opcode.CONTINUATION, payload: parts[1], fin: false });
    c.sendFrame({ opcode: Opcode.CONTINUATION, payload: parts[2], fin: true });
    const frames = await readMessage(c);
    assert.equal(frames[0].opcode, Opcode.BINARY);
    assert.ok(frames.slice(1).every((f) => f.opcode === Opcode.CONTINUATION));
    assert.ok(frames.length >= 3, `${frames.length} fragments`);
    assert.ok(frames.every((f) => !f.rsv1));
    assert.ok(Buffer.concat(frames.map((f) => f.payload)).equals(Buffer.concat(parts)));
  });

  test("messages sent during a streamed send wait for its last fragment; control frames do not", async (t) => {
    let release: (() => void) | null = null;
    const wss = await start(t, {
      open(ws) {
        const gate = new Promise<void>((r) => (release = r));
        async function* source(): AsyncGenerator<string> {
          yield "part one, ";
          await gate;
          yield "part two";
        }
        void ws.sendStream(source(), false);
        ws.send("queued behind");
        ws.ping("p");
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    const frames: RawFrame[] = [];
    for (;;) {
      const f = await c.nextFrame(5000);
      frames.push(f);
      if (f.opcode === Opcode.TEXT && f.payload.toString() === "part one, ") release!();
      if (f.opcode === Opcode.TEXT && f.payload.toString() === "queued behind") break;
    }
    const data = frames.filter((f) => f.opcode < 0x8);
    assert.deepEqual(
      data.map((f) => [f.opcode, f.fin]),
      [[Opcode.TEXT, false], ...data.slice(1, -2).map(() => [Opcode.CONTINUATION, false]), [Opcode.CONTINUATION, true], [Opcode.TEXT, true]],
      "the streamed message's fragments, then the message sent meanwhile",
    );
    assert.equal(Buffer.concat(data.slice(0, -1).map((f) => f.payload)).toString(), "part one, part two");
    assert.ok(frames.some((f) => f.opcode === Opcode.PING), "the ping was not held back");
  });

  test("a source that throws: the connection closes with 1011 and sendStream rejects with the error", async (t) => {
    let outcome: unknown = null;
    const wss = await start(t, {
      open(ws) {
        const failing = new Readable({
          read() {
            this.push(Buffer.from("some bytes"));
            this.destroy(new Error("disk gone"));
          },
        });
        ws.sendStream(failing).then(
          (v) => (outcome = v),
          (e) => (outcome = e),
        );
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    await c.expectClose(1011);
    const deadline = Date.now() + 5000;
    while (outcome === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.ok(outcome instanceof Error && outcome.message === "disk gone");
  });

  test("an empty source sends one empty message; sendStream resolves false once closed", async (t) => {
    let server: ServerWebSocket<unknown> | null = null;
    const wss = await start(t, {
      open(ws) {
        server = ws;
        void ws.sendStream([], true);
      },
    });
    const c = await connectRaw(wss.port);
    t.after(() => c.destroy());
    const f = await c.nextFrame(5000);
    assert.deepEqual([f.opcode, f.fin, f.payload.length], [Opcode.BINARY, true, 0]);
    c.sendClose(1000);
    await c.closed(5000);
    const deadline = Date.now() + 5000;
    while (server!.readyState !== 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(await server!.sendStream(["late"]), false);
  });
});
