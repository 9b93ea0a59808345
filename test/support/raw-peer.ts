/**
 * A raw-socket WebSocket peer for tests: performs the opening handshake itself and writes
 * exact frame bytes, with its own small frame parser (independent of wsx's receiver), so the
 * tests check wsx against an implementation that shares none of its code.
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/** One parsed frame. */
export interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Options of {@link RawFrameInput}. */
export interface RawFrameInput {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Mask the frame (clients must); default true. */
  mask?: boolean;
  /** Force the 16-bit or 64-bit length form. */
  lengthForm?: 7 | 16 | 64;
}

/** Encodes a frame the way a client would, with a random mask. */
export function rawFrame(input: RawFrameInput): Buffer {
  const payload = typeof input.payload === "string" ? Buffer.from(input.payload) : (input.payload ?? Buffer.alloc(0));
  const mask = input.mask !== false;
  const len = payload.length;
  const form = input.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const head: number[] = [
    (input.fin === false ? 0 : 0x80) | (input.rsv1 ? 0x40 : 0) | (input.rsv2 ? 0x20 : 0) | (input.rsv3 ? 0x10 : 0) | input.opcode,
  ];
  const m = mask ? 0x80 : 0;
  if (form === 7) head.push(m | len);
  else if (form === 16) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    const hi = Math.floor(len / 2 ** 32);
    const lo = len >>> 0;
    head.push(hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A close frame payload: 2-byte code then the reason. */
export function closePayload(code: number, reason: string | Buffer = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** A connected raw peer. */
export class RawPeer {
  readonly socket: Socket;
  /** The response head of the handshake. */
  readonly responseHead: string;
  private buffer: Buffer;
  private waiters: Array<() => void> = [];
  private ended = false;
  private readonly endedPromise: Promise<void>;

  constructor(socket: Socket, responseHead: string, rest: Buffer) {
    this.socket = socket;
    this.responseHead = responseHead;
    this.buffer = rest;
    socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    this.endedPromise = new Promise((resolve) => {
      const done = (): void => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.once("end", done);
      socket.once("close", done);
    });
    socket.on("error", () => {});
    socket.resume();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Writes exact bytes. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes one frame (masked unless `mask: false`). */
  send(input: RawFrameInput): void {
    this.socket.write(rawFrame(input));
  }

  /** Reads the next frame, failing after `timeoutMs`; null if the connection ended first. */
  async nextFrame(timeoutMs = 5000): Promise<RawFrame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.tryParse();
      if (f !== undefined) return f;
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private tryParse(): RawFrame | undefined {
    const b = this.buffer;
    if (b.length < 2) return undefined;
    let len = b[1] & 0x7f;
    let p = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      p = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      len = Number(b.readBigUInt64BE(2));
      p = 10;
    }
    const masked = (b[1] & 0x80) !== 0;
    if (masked) p += 4;
    if (b.length < p + len) return undefined;
    let payload = Buffer.from(b.subarray(p, p + len));
    if (masked) {
      const key = b.subarray(p - 4, p);
      payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]));
    }
    this.buffer = b.subarray(p + len);
    return {
      fin: (b[0] & 0x80) !== 0,
      rsv1: (b[0] & 0x40) !== 0,
      rsv2: (b[0] & 0x20) !== 0,
      rsv3: (b[0] & 0x10) !== 0,
      opcode: b[0] & 0x0f,
      masked,
      payload,
    };
  }

  /**
   * Reads frames until a close frame and returns its code (1005 if empty) and reason;
   * data frames seen before it are returned too. Server frames must never be masked.
   */
  async readUntilClose(timeoutMs = 5000): Promise<{ code: number; reason: string; frames: RawFrame[] }> {
    const frames: RawFrame[] = [];
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f === null) throw new Error("connection ended without a close frame");
      if (f.masked) throw new Error("server sent a masked frame");
      if (f.opcode === 0x8) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        return { code, reason: f.payload.subarray(2).toString(), frames };
      }
      frames.push(f);
    }
  }

  /** Resolves when the TCP connection has ended (the server closed it), or rejects after `timeoutMs`. */
  async waitEnd(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.endedPromise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Whether the TCP connection has ended. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Destroys the socket. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Options of {@link connectRaw}. */
export interface ConnectRawOptions {
  path?: string;
  headers?: Record<string, string>;
  host?: string;
}

/** Opens a TCP connection, performs the opening handshake and checks the 101 answer. */
export async function connectRaw(port: number, options: ConnectRawOptions = {}): Promise<RawPeer> {
  const key = randomBytes(16).toString("base64");
  const headers: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
    ...options.headers,
  };
  let req = `GET ${options.path ?? "/"} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  const { head, rest, socket } = await exchange(port, req + "\r\n", options.host);
  if (!head.startsWith("HTTP/1.1 101")) {
    socket.destroy();
    throw new Error(`handshake refused: ${head.split("\r\n")[0]}`);
  }
  const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  if (!head.includes(`Sec-WebSocket-Accept: ${accept}`)) {
    socket.destroy();
    throw new Error("bad Sec-WebSocket-Accept");
  }
  return new RawPeer(socket, head, rest);
}

/** Writes `request` verbatim and returns the response head (up to the blank line). */
export async function exchange(port: number, request: string | Buffer, host = "127.0.0.1", timeoutMs = 5000): Promise<{ head: string; rest: Buffer; socket: Socket }> {
  const socket = connect(port, host);
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response head within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf("\r\n\r\n");
      if (i === -1) return;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.pause();
      resolve({ head: buf.subarray(0, i + 4).toString("latin1"), rest: buf.subarray(i + 4), socket });
    };
    socket.on("data", onData);
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (buf.indexOf("\r\n\r\n") === -1) resolve({ head: buf.toString("latin1"), rest: Buffer.alloc(0), socket });
    });
    socket.write(request);
  });
}
