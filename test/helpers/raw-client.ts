/**
 * The raw-frame peer: a WebSocket client over a plain TCP socket for testing servers byte by
 * byte, with its own handshake check, frame encoder and parser (raw-frames.ts), so it shares
 * no code with wsx.
 *
 * ```ts
 * const c = await connectRaw(port, { path: "/echo", t }); // destroyed when t ends
 * c.sendFrame({ opcode: Opcode.TEXT, payload: "hi" });
 * assert.equal((await c.nextFrame()).payload.toString(), "hi");
 * c.sendClose(1000);
 * await c.expectClose(1000);
 * ```
 *
 * Every wait has a deadline (default 5 s, times WSX_TEST_TIME_FACTOR) and rejects with a
 * message saying what was awaited.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TestContext } from "node:test";
import { acceptFor, ByteQueue, closePayload, describeBytes, encodeFrame, Opcode, parseClosePayload, parseServerFrame, type FrameSpec, type RawFrame } from "./raw-frames.js";
import { scaled } from "./time.js";

export { acceptFor, closePayload, encodeFrame, Opcode, parseClosePayload, WS_GUID, type FrameSpec, type RawFrame } from "./raw-frames.js";

/** Default deadline of every wait, ms (5 s times WSX_TEST_TIME_FACTOR). */
export const DEFAULT_TIMEOUT_MS: number = scaled(5000);
/** Largest handshake response head accepted, bytes. */
const MAX_HEAD_BYTES = 64 * 1024;

/** An HTTP response head as the raw peer read it. */
export interface RawResponse {
  /** The head as text, without the final empty line. */
  head: string;
  statusLine: string;
  /** The status code, NaN when the status line is not HTTP/1.x. */
  status: number;
  /** Headers by lower-case name (repeated ones joined with ", "). */
  headers: Record<string, string>;
  /** Headers as sent, in order. */
  rawHeaders: Array<[string, string]>;
}

/** Options of {@link connectRaw}. */
export interface ConnectRawOptions {
  /** Request target, default "/". */
  path?: string;
  /** Host to connect to, default "127.0.0.1". */
  host?: string;
  /** Extra or replacement request headers (a given Sec-WebSocket-Key is the one checked). */
  headers?: Record<string, string>;
  /** Deadline of the TCP connect and of the handshake, ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Destroy the socket when this test ends, however it ends. */
  t?: TestContext;
}

/** Options of {@link RawClient.expectClose}. */
export interface ExpectCloseOptions {
  /** The close reason expected too. */
  reason?: string;
  /** Answer the server's close frame (default true). */
  reply?: boolean;
  /** Deadline of each wait, ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * A connected raw client (see {@link connectRaw}; over HTTP/2, `connectRawH2` in
 * raw-h2-client.ts, where `socket` is the stream and its end stands for TCP's close).
 */
export interface RawClient<S extends Duplex = Socket> {
  /** The TCP socket (e.g. for `resetAndDestroy()`), or the HTTP/2 stream. */
  readonly socket: S;
  /** The server's handshake response. */
  readonly response: RawResponse;
  /** The Sec-WebSocket-Key sent. */
  readonly key: string;
  /** Writes exact bytes; false when the socket is no longer writable. */
  write(bytes: Uint8Array | string): boolean;
  /** Encodes and writes one frame (masked unless `mask: false`); returns its bytes. */
  sendFrame(spec: FrameSpec): Buffer;
  /** One masked text frame. */
  sendText(text: string): Buffer;
  /** One masked binary frame. */
  sendBinary(data: Uint8Array): Buffer;
  /** One masked close frame with `code` (none: empty payload) and `reason`. */
  sendClose(code?: number, reason?: string): Buffer;
  /** The next frame the server sent. */
  nextFrame(timeoutMs?: number): Promise<RawFrame>;
  /** Fails if a frame arrives within `ms` (an absence can only be checked over a span of time). */
  expectNoFrame(ms: number): Promise<void>;
  /** Resolves once the TCP connection has closed. */
  closed(timeoutMs?: number): Promise<{ hadError: boolean }>;
  /**
   * Reads frames up to a close frame with `code` (other frames are returned as `skipped`),
   * answers it unless `reply: false`, and waits for the server to close the TCP connection.
   * Code 1006 means: the connection must end without any close frame.
   */
  expectClose(code: number, options?: ExpectCloseOptions): Promise<{ skipped: RawFrame[]; reason: string }>;
  /** Destroys the socket. */
  destroy(): void;
}

function parseHead(head: string): RawResponse {
  const lines = head.split("\r\n");
  const statusLine = lines[0] ?? "";
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  const headers: Record<string, string> = {};
  const rawHeaders: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { head, statusLine, status: m !== null ? Number(m[1]) : NaN, headers, rawHeaders };
}

/** Opens a TCP connection; rejects on error or after `timeoutMs`. */
function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw client: TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`raw client: TCP connect to ${host}:${port} failed: ${error.message}`));
    });
  });
}

/**
 * Reads an HTTP response head (up to the empty line) from `socket`. Resolves with the
 * parsed head and the bytes that followed it in the same reads.
 */
function readHead(socket: Socket, timeoutMs: number, what: string): Promise<RawResponse & { rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (error: Error | null, value?: RawResponse & { rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      if (error !== null) reject(error);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end >= 0) {
        socket.pause();
        done(null, { ...parseHead(buffered.subarray(0, end).toString("latin1")), rest: buffered.subarray(end + 4) });
      } else if (buffered.length > MAX_HEAD_BYTES) {
        done(new Error(`${what}: no end of the response head within ${MAX_HEAD_BYTES} bytes`));
      }
    };
    const onClose = (): void =>
      done(new Error(`${what}: the server closed the connection before a complete response head (got ${describeBytes(buffered)})`));
    const onError = (error: Error): void => done(new Error(`${what}: socket error before the response head: ${error.message}`));
    const timer = setTimeout(() => done(new Error(`${what}: no complete response head within ${timeoutMs} ms (got ${describeBytes(buffered)})`)), timeoutMs);
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onError);
  });
}

/**
 * Connects to 127.0.0.1:`port`, performs the opening handshake with a real random key and
 * verifies 101, Upgrade, Connection and Sec-WebSocket-Accept (RFC 6455 §4.1, client
 * requirements 1-4; rejects with the response head otherwise).
 *
 * @example const c = await connectRaw(port, { path: "/chat", headers: { "Sec-WebSocket-Protocol": "chat" } });
 */
export async function connectRaw(port: number, options: ConnectRawOptions = {}): Promise<RawClient> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const key = randomBytes(16).toString("base64");
  const defaults: Array<[string, string]> = [
    ["Host", `${host.includes(":") ? `[${host}]` : host}:${port}`],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
  ];
  const extra = Object.entries(options.headers ?? {});
  const overridden = new Set(extra.map(([name]) => name.toLowerCase()));
  const headerLines = [...defaults.filter(([name]) => !overridden.has(name.toLowerCase())), ...extra]
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const sentKey = extra.find(([name]) => name.toLowerCase() === "sec-websocket-key")?.[1] ?? key;
  const socket = await openSocket(host, port, timeoutMs);
  options.t?.after(() => socket.destroy());
  socket.write(`GET ${options.path ?? "/"} HTTP/1.1\r\n${headerLines}\r\n`);
  let response: RawResponse & { rest: Buffer };
  try {
    response = await readHead(socket, timeoutMs, "raw client handshake");
    const h = response.headers;
    const problems: string[] = [];
    if (response.status !== 101) {
      throw new Error(`raw client handshake failed (status ${response.status}, expected 101):\n${response.head}`);
    }
    if ((h["upgrade"] ?? "").toLowerCase() !== "websocket") problems.push(`Upgrade: ${h["upgrade"]}`);
    if (!(h["connection"] ?? "").toLowerCase().split(/\s*,\s*/).includes("upgrade")) problems.push(`Connection: ${h["connection"]}`);
    if (h["sec-websocket-accept"] !== acceptFor(sentKey)) {
      problems.push(`Sec-WebSocket-Accept: ${h["sec-websocket-accept"]}, expected ${acceptFor(sentKey)}`);
    }
    if (problems.length > 0) throw new Error(`raw client handshake failed (${problems.join("; ")}):\n${response.head}`);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return wrapRawStream(socket, response, sentKey);
}

/**
 * Makes a raw client of a byte stream on which the handshake is done: `head` is the response
 * (with `rest`, bytes that came after it), `key` the Sec-WebSocket-Key sent ("" over HTTP/2).
 */
export function wrapRawStream<S extends Duplex>(socket: S, head: RawResponse & { rest: Buffer }, key: string): RawClient<S> {
  const queue = new ByteQueue();
  const frames: RawFrame[] = [];
  let protocolError: Error | null = null;
  let isClosed = false;
  let hadError = false;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const onBytes = (chunk: Buffer): void => {
    if (protocolError !== null) return;
    queue.push(chunk);
    try {
      for (let frame = parseServerFrame(queue); frame !== null; frame = parseServerFrame(queue)) frames.push(frame);
    } catch (error) {
      protocolError = error as Error;
    }
    notify();
  };
  socket.on("data", onBytes);
  socket.on("error", () => {
    hadError = true; // e.g. ECONNRESET; "close" follows
  });
  socket.on("close", (withError: boolean) => {
    isClosed = true;
    hadError ||= withError;
    notify();
  });
  if (head.rest.length > 0) onBytes(head.rest);
  socket.resume();

  /** Waits until `ready()` returns a value, for at most `timeoutMs`. */
  const waitFor = <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        let value: T | undefined;
        try {
          value = ready();
        } catch (error) {
          finish();
          reject(error);
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`raw client: timed out after ${timeoutMs} ms waiting for ${what} (${queue.length} unparsed bytes buffered)`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const nextFrame = (timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawFrame> =>
    waitFor(
      () => {
        const frame = frames.shift();
        if (frame !== undefined) return frame;
        if (protocolError !== null) throw new Error(`raw client: ${protocolError.message}`);
        if (isClosed) {
          const rest = queue.length > 0 ? ` (${queue.length} bytes of an incomplete frame left)` : "";
          throw new Error(`raw client: the connection closed before a frame arrived${rest}`);
        }
        return undefined;
      },
      timeoutMs,
      "a frame",
    );

  const closed = (timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ hadError: boolean }> =>
    waitFor(() => (isClosed ? { hadError } : undefined), timeoutMs, "the TCP connection to close");

  const write = (bytes: Uint8Array | string): boolean => {
    if (isClosed || !socket.writable) return false;
    socket.write(bytes);
    return true;
  };
  const sendFrame = (spec: FrameSpec): Buffer => {
    const bytes = encodeFrame(spec);
    write(bytes);
    return bytes;
  };

  const expectClose = async (code: number, options: ExpectCloseOptions = {}): Promise<{ skipped: RawFrame[]; reason: string }> => {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const skipped: RawFrame[] = [];
    if (code === 1006) {
      // Abnormal closure (RFC 6455 §7.1.5): the TCP connection must end without a close frame.
      for (let i = 0; i < 10_000; i++) {
        let frame: RawFrame;
        try {
          frame = await nextFrame(timeoutMs);
        } catch (error) {
          if (isClosed) return { skipped, reason: "" };
          throw error;
        }
        assert.notEqual(
          frame.opcode,
          Opcode.CLOSE,
          `expected the connection to drop without a close frame (1006), got close ${parseClosePayload(frame.payload).code}`,
        );
        skipped.push(frame);
      }
      throw new Error("raw client: more than 10000 frames before the connection closed");
    }
    for (let i = 0; i < 10_000; i++) {
      const frame = await nextFrame(timeoutMs);
      if (frame.opcode !== Opcode.CLOSE) {
        skipped.push(frame);
        continue;
      }
      const got = parseClosePayload(frame.payload);
      assert.equal(got.code, code, `expected close code ${code}, got ${got.code} (reason "${got.reason}")`);
      if (options.reason !== undefined) assert.equal(got.reason, options.reason, "close reason");
      if (options.reply ?? true) {
        write(encodeFrame({ opcode: Opcode.CLOSE, payload: frame.payload.length >= 2 ? frame.payload.subarray(0, 2) : Buffer.alloc(0) }));
      }
      try {
        await closed(timeoutMs);
      } catch {
        throw new assert.AssertionError({ message: `got close ${code}, but the server did not close the TCP connection within ${timeoutMs} ms` });
      }
      return { skipped, reason: got.reason };
    }
    throw new Error("raw client: more than 10000 frames before a close frame");
  };

  const { rest: _rest, ...response } = head;
  return {
    socket,
    response,
    key,
    write,
    sendFrame,
    sendText: (text) => sendFrame({ opcode: Opcode.TEXT, payload: text }),
    sendBinary: (data) => sendFrame({ opcode: Opcode.BINARY, payload: data }),
    sendClose: (code, reason) => sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(code, reason) }),
    nextFrame,
    expectNoFrame: async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (protocolError !== null) throw new Error(`raw client: ${protocolError.message}`);
      const frame = frames[0];
      if (frame !== undefined) {
        throw new assert.AssertionError({
          message: `expected no frame within ${ms} ms, got opcode ${frame.opcode} with ${describeBytes(frame.payload)}`,
        });
      }
    },
    closed,
    expectClose,
    destroy: () => {
      socket.destroy();
    },
  };
}

/** Options of {@link rawHandshake}. */
export interface RawHandshakeOptions {
  /** Host to connect to, default "127.0.0.1". */
  host?: string;
  /** Deadline of the connect, the head and the body, ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Writes `request` exactly as given (include the final "\r\n\r\n" yourself) and resolves
 * with the response head; `body` is the response body when it has a Content-Length
 * (read within the deadline), else whatever arrived with the head. The socket is closed
 * afterwards.
 *
 * @example const r = await rawHandshake(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); assert.equal(r.status, 400);
 */
export async function rawHandshake(port: number, request: string | Uint8Array, options: RawHandshakeOptions = {}): Promise<RawResponse & { body: Buffer }> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = await openSocket(host, port, timeoutMs);
  socket.on("error", () => {
    // reported through readHead / the body read
  });
  try {
    socket.write(typeof request === "string" ? Buffer.from(request, "latin1") : request);
    const response = await readHead(socket, timeoutMs, "raw handshake");
    let body = response.rest;
    const declared = Number(response.headers["content-length"]);
    if (response.status !== 101 && Number.isSafeInteger(declared) && declared > body.length) {
      body = await new Promise<Buffer>((resolve) => {
        const chunks = [body];
        let have = body.length;
        const finish = (): void => {
          clearTimeout(timer);
          socket.off("data", onData);
          socket.off("close", finish);
          resolve(Buffer.concat(chunks));
        };
        const onData = (chunk: Buffer): void => {
          chunks.push(chunk);
          have += chunk.length;
          if (have >= declared) finish();
        };
        const timer = setTimeout(finish, timeoutMs);
        socket.on("data", onData);
        socket.on("close", finish);
        socket.resume();
      });
    }
    const { rest: _rest, ...head } = response;
    return { ...head, body };
  } finally {
    socket.destroy();
  }
}
