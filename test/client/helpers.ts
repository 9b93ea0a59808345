/** Small helpers for client tests: event recording, bounded waits, a wsx echo server. */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { WebSocket } from "../../src/client/websocket.js";
import type { WebSocketServerOptions } from "../../src/server/options.js";
import { WebSocketServer } from "../../src/server/server.js";

/** How a close event looked. */
export interface ClosedInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Records every event of a client as "type" or "type:detail", resolving on close. */
export function record(ws: WebSocket, timeoutMs = 10_000): { log: string[]; closed: Promise<ClosedInfo> } {
  const log: string[] = [];
  ws.addEventListener("open", () => log.push("open"));
  ws.addEventListener("error", () => log.push("error"));
  ws.addEventListener("message", (e: any) => log.push(`message:${describeData(e.data)}`));
  const closed = new Promise<ClosedInfo>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no close event within ${timeoutMs} ms; saw ${log.join(",")}`)), timeoutMs);
    ws.addEventListener("close", (e: any) => {
      clearTimeout(t);
      log.push(`close:${e.code}`);
      resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
  });
  return { log, closed };
}

/** "text", "ab<n>" for an ArrayBuffer, "blob<n>" for a Blob. */
export function describeData(data: unknown): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return `ab${data.byteLength}`;
  if (data instanceof Blob) return `blob${data.size}`;
  return `?${String(data)}`;
}

/** Resolves at the next event of `type`. */
export function once<T = any>(ws: EventTarget, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
    ws.addEventListener(
      type,
      (e) => {
        clearTimeout(t);
        resolve(e as T);
      },
      { once: true },
    );
  });
}

/** Waits until `predicate()` holds, polling every 5 ms, failing after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A wsx server for client tests, with what it saw. */
export interface TestServer {
  wss: WebSocketServer<any>;
  port: number;
  url: string;
  /** Close events seen by the server: code and reason. */
  closes: Array<{ code: number; reason: string }>;
  /** Messages the server received, in order ("text" or "bin:<hex>"). */
  received: string[];
  /** Request headers of each accepted handshake. */
  requests: Array<IncomingMessage["headers"]>;
  close(): Promise<void>;
}

/**
 * Starts a wsx echo server on 127.0.0.1, port 0. A text message "close <code> <reason>"
 * makes it close with that code and reason instead. Extra options override the defaults.
 */
export async function startWsxServer(options: Partial<WebSocketServerOptions<any>> = {}): Promise<TestServer> {
  const closes: Array<{ code: number; reason: string }> = [];
  const received: string[] = [];
  const requests: Array<IncomingMessage["headers"]> = [];
  const wss = new WebSocketServer<any>({
    port: 0,
    host: "127.0.0.1",
    upgrade(req) {
      requests.push(req.headers);
      return undefined;
    },
    message(ws, data, isBinary) {
      const text = isBinary ? "" : data.toString();
      received.push(isBinary ? `bin:${data.toString("hex")}` : text);
      if (text.startsWith("close ")) {
        const [, code, ...reason] = text.split(" ");
        ws.close(Number(code), reason.join(" "));
      } else ws.send(data, isBinary);
    },
    close(_ws, code, reason) {
      closes.push({ code, reason });
    },
    ...options,
  } as WebSocketServerOptions<any>);
  await wss.ready();
  return { wss, port: wss.port, url: `ws://127.0.0.1:${wss.port}/`, closes, received, requests, close: () => wss.close() };
}

/** A hand-written server (node:net) for answers no real server would give. */
export interface RawServer {
  url: string;
  /** Called with each request head as received (set it to look at the request). */
  onHead: (head: string) => void;
  /** Sockets accepted so far. */
  sockets: Socket[];
  close(): Promise<void>;
}

/** RFC 6455 §4.2.2: the Sec-WebSocket-Accept value for `key`. */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** A correct 101 answer for `key`, with `extra` header lines ("Name: value\r\n"). */
export function switchingProtocols(key: string, extra = ""): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`;
}

/**
 * Starts a net server on 127.0.0.1, port 0, that reads each request head and calls
 * `answer(key, socket)` with its Sec-WebSocket-Key ("" if none).
 */
export async function startRawServer(answer: (key: string, socket: Socket) => void): Promise<RawServer> {
  const sockets: Socket[] = [];
  const raw: RawServer = { url: "", onHead: () => {}, sockets, close: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    let head = "";
    const onData = (d: Buffer): void => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.removeListener("data", onData);
      raw.onHead(head);
      answer(/^sec-websocket-key: *(\S+)/im.exec(head)?.[1] ?? "", socket);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  raw.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  raw.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return raw;
}

/** An unmasked server frame (RFC 6455 §5.2) with FIN set. */
export function serverFrame(opcode: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  if (body.length >= 126) throw new Error("serverFrame: only short payloads");
  return Buffer.concat([Buffer.from([0x80 | opcode, body.length]), body]);
}

/** A frame the client sent, unmasked. */
export interface ClientFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/**
 * Collects the frames a client sends on `socket` (a TCP socket or an HTTP/2 stream; RFC 6455 §5.2, payloads under 64 KiB).
 * `frames` fills as they arrive.
 */
export function collectClientFrames(socket: NodeJS.ReadableStream): { frames: ClientFrame[] } {
  const frames: ClientFrame[] = [];
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) throw new Error("collectClientFrames: payload too large for this helper");
      const need = offset + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const payload = Buffer.from(buf.subarray(need - len, need));
      if (masked) {
        const key = buf.subarray(offset, offset + 4);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      frames.push({ fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, masked, payload });
      buf = buf.subarray(need);
    }
  });
  return { frames };
}
