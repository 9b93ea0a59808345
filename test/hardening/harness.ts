/**
 * The server every hardening test abuses: a real wsx `WebSocketServer` on an ephemeral
 * loopback port that echoes every message and records what its handlers saw, plus the check
 * each test ends with — a normal client still gets an echo round trip from the same server.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import type { TestContext } from "node:test";
import type { WebSocketServerOptions } from "../../src/server/options.js";
import { WebSocketServer } from "../../src/server/server.js";
import { connectRaw, Opcode } from "../helpers/raw-client.js";

/** A close as the server's `close` handler reported it. */
export interface SeenClose {
  code: number;
  reason: string;
}

/** A running echo server; see {@link startEchoServer}. */
export interface EchoServer {
  readonly wss: WebSocketServer<unknown>;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Every `close` handler call, in order. */
  readonly closes: SeenClose[];
  /** Every `error` handler call, in order. */
  readonly errors: Error[];
  /** Test cleanup: drops every client at once, then closes the server. */
  stop(): Promise<void>;
}

/**
 * Starts an echo server on 127.0.0.1, port 0; `options` override the defaults. With `t`,
 * the server is stopped when the test ends.
 */
export async function startEchoServer(t: TestContext | undefined, options: Partial<WebSocketServerOptions<unknown>> = {}): Promise<EchoServer> {
  const closes: SeenClose[] = [];
  const errors: Error[] = [];
  const wss = new WebSocketServer<unknown>({
    port: 0,
    host: "127.0.0.1",
    message(ws, data, isBinary) {
      ws.send(data, isBinary);
    },
    close(_ws, code, reason) {
      closes.push({ code, reason });
    },
    error(_ws, error) {
      errors.push(error);
    },
    ...options,
  } as WebSocketServerOptions<unknown>);
  await wss.ready();
  const stop = async (): Promise<void> => {
    for (const ws of wss.clients) ws.terminate();
    await wss.close();
  };
  t?.after(stop);
  return { wss, port: wss.port, closes, errors, stop };
}

/**
 * The check after every abuse: a fresh, well-behaved client connects to the same server and
 * gets its message echoed (text and binary), then closes cleanly with 1000.
 */
export async function assertStillServes(port: number, label = "a normal client"): Promise<void> {
  const peer = await connectRaw(port);
  try {
    peer.sendText(`${label}: still served`);
    const text = await peer.nextFrame();
    assert.equal(text.opcode, Opcode.TEXT);
    assert.equal(text.payload.toString(), `${label}: still served`);
    const bytes = Buffer.from([0, 1, 2, 0xff]);
    peer.sendBinary(bytes);
    const binary = await peer.nextFrame();
    assert.equal(binary.opcode, Opcode.BINARY);
    assert.deepEqual(binary.payload, bytes);
    peer.sendClose(1000);
    await peer.expectClose(1000, { reply: false });
  } finally {
    peer.destroy();
  }
}

/**
 * Resolves once `condition()` is true, polling every 5 ms; rejects after `timeoutMs` with
 * `what` in the message.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise that resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Opens a plain TCP socket to 127.0.0.1:`port` (errors swallowed: the tests look at `close`). */
export function openTcp(port: number, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`TCP connect to ${port} failed`));
    });
  });
}

/** Resolves once `socket` has closed, or rejects after `timeoutMs`. */
export function socketClosed(socket: Socket, timeoutMs = 5000): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A valid opening handshake request head without the final empty line. */
export const UPGRADE_HEAD =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/**
 * Counts exceptions that reach the event loop from now on (installed once per process);
 * `uncaught()` returns the count. A test asserts it stays 0.
 */
export function countUncaught(): () => number {
  if (uncaughtInstalled === false) {
    uncaughtInstalled = true;
    process.on("uncaughtException", (error) => {
      uncaughtErrors.push(error);
    });
  }
  const start = uncaughtErrors.length;
  return () => uncaughtErrors.length - start;
}

let uncaughtInstalled = false;
const uncaughtErrors: Error[] = [];
