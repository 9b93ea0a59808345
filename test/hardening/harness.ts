/**
 * The server every hardening test abuses (the shared echo-server fixture, re-exported), plus
 * the check each test ends with — a normal client still gets an echo round trip from the
 * same server — and the raw TCP tools the floods use.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { connectRaw, Opcode } from "../helpers/raw-client.js";
import { scaled, waitUntil } from "../helpers/time.js";

export { startEchoServer, type EchoServer, type EchoServerOptions, type SeenClose } from "../helpers/echo-server.js";
export { waitUntil } from "../helpers/time.js";

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

/** A promise that resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Opens a plain TCP socket to 127.0.0.1:`port` (errors swallowed: the tests look at `close`); deadline `scaled(timeoutMs)`. */
export function openTcp(port: number, timeoutMs = 5000): Promise<Socket> {
  const limit = scaled(timeoutMs);
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${port} timed out after ${limit} ms`));
    }, limit);
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

/** Resolves once `socket` has closed, or rejects after `scaled(timeoutMs)`. */
export function socketClosed(socket: Socket, timeoutMs = 5000): Promise<void> {
  if (socket.closed) return Promise.resolve();
  const limit = scaled(timeoutMs);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${limit} ms`)), limit);
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

/** A socket that completed the opening handshake by hand; see {@link upgradedSocket}. */
export interface UpgradedSocket {
  readonly socket: Socket;
  /** Everything received after the response head, so far. */
  received(): Buffer;
  /** Whether the server has ended its side (FIN). */
  ended(): boolean;
}

/**
 * Opens a TCP connection that keeps its own side open after the server's FIN
 * (`allowHalfOpen`), like a peer that ignores the close handshake, and completes the opening
 * handshake with `extraHeaders`. Rejects unless the answer is 101.
 */
export async function upgradedSocket(port: number, extraHeaders = ""): Promise<UpgradedSocket> {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("close", () => reject(new Error("connect failed")));
  });
  let data = Buffer.alloc(0);
  let bodyStart = -1;
  let isEnded = false;
  socket.on("data", (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    if (bodyStart === -1) {
      const end = data.indexOf("\r\n\r\n");
      if (end !== -1) bodyStart = end + 4;
    }
  });
  socket.on("end", () => (isEnded = true));
  socket.write(UPGRADE_HEAD + extraHeaders + "\r\n");
  try {
    await waitUntil(() => bodyStart !== -1, "the handshake response");
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const head = data.subarray(0, bodyStart).toString("latin1");
  if (!head.startsWith("HTTP/1.1 101 ")) {
    socket.destroy();
    throw new Error(`handshake refused: ${head}`);
  }
  return { socket, received: () => data.subarray(bodyStart), ended: () => isEnded };
}
