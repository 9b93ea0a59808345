/**
 * The one echo-server fixture: a real wsx `WebSocketServer` on 127.0.0.1, port 0, that echoes
 * every message and records what its handlers saw, for conformance, hardening, interop and
 * pub/sub tests.
 *
 * ```ts
 * const server = await startEchoServer({ t, maxPayload: 1024 }); // stopped when t ends
 * const server = await startEchoServer(t, { maxPayload: 1024 });  // the same
 * const server = await startEchoServer({ maxPayload: 1024 });     // stop it yourself: after(() => server.stop())
 * ```
 *
 * Handlers given in the options replace the echo (`message`) or run after the recording
 * (`open`, `close`, `error`), so the records are complete whatever a test overrides.
 */
import type { Socket } from "node:net";
import type { TestContext } from "node:test";
import type { WebSocketServerOptions } from "../../src/server/options.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { WebSocketServer } from "../../src/server/server.js";

/** A close as the server's `close` handler reported it. */
export interface SeenClose {
  code: number;
  reason: string;
}

/** Options of {@link startEchoServer}: any server option, and the test that owns the server. */
export type EchoServerOptions = Partial<WebSocketServerOptions<unknown>> & {
  /** Stop the server (every client dropped) when this test ends, however it ends. */
  t?: TestContext;
  /** Keep every connection in `connections` and every received message in `received` (off by default: churn and floods would be held). */
  record?: boolean;
};

/** A running echo server; see {@link startEchoServer}. */
export interface EchoServer {
  /** The server. */
  readonly wss: WebSocketServer<unknown>;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Every `close` handler call, in order. */
  readonly closes: SeenClose[];
  /** Every `error` handler call, in order. */
  readonly errors: Error[];
  /** Every connection the `open` handler saw, in order (closed ones stay), when started with `record: true` (else empty). */
  readonly connections: ServerWebSocket<unknown>[];
  /** Every message received, in order, when started with `record: true` (else empty). */
  readonly received: Buffer[];
  /** Resolves once a `close` handler call has reported `code` (at once if one already has). */
  closedWith(code: number): Promise<void>;
  /** Number of connections the `open` handler saw. */
  opens(): number;
  /** Number of messages the `message` handler received. */
  messages(): number;
  /**
   * Bytes the server has read from all its TCP connections so far (request heads included;
   * over HTTP/2, frame headers too, so at least what a peer wrote): wait until it reaches
   * what a peer wrote to know the server has the peer's bytes.
   */
  bytesRead(): number;
  /** Number of TCP connections the server has open (upgraded or not; HTTP/2 ones included). */
  tcpConnections(): number;
  /** Closes the server (1001 to the clients left, then their close handshakes) and waits for it. */
  close(): Promise<void>;
  /** Test cleanup: drops every client at once (no handshake to wait for), then closes. Idempotent. */
  stop(): Promise<void>;
}

function isTestContext(value: unknown): value is TestContext {
  const t = value as Partial<TestContext> | null | undefined;
  return typeof t === "object" && t !== null && typeof t.after === "function" && typeof t.test === "function";
}

/**
 * Starts an echo server on 127.0.0.1, port 0; `options` override or add to the defaults
 * (e.g. `maxPayload`, `closeTimeout`, `handshakeTimeout`, `upgrade`, `perMessageDeflate`).
 * With a test context (`{ t }` or as the first argument) the server is stopped when that
 * test ends.
 */
export async function startEchoServer(options?: EchoServerOptions): Promise<EchoServer>;
export async function startEchoServer(t: TestContext | undefined, options?: EchoServerOptions): Promise<EchoServer>;
export async function startEchoServer(first?: TestContext | EchoServerOptions, second?: EchoServerOptions): Promise<EchoServer> {
  const byPosition = isTestContext(first) || (first === undefined && second !== undefined);
  const { t: optionT, record = false, ...given } = ((byPosition ? second : first) ?? {}) as EchoServerOptions;
  const t = byPosition ? (first as TestContext | undefined) ?? optionT : optionT;

  const closes: SeenClose[] = [];
  const errors: Error[] = [];
  const connections: ServerWebSocket<unknown>[] = [];
  const received: Buffer[] = [];
  // Waiters of closedWith(), checked on each close (event-driven, no polling).
  const closeWaiters = new Set<() => void>();
  let opens = 0;
  let messages = 0;
  const userMessage = given.message;
  const wss = new WebSocketServer<unknown>({
    port: 0,
    host: "127.0.0.1",
    ...given,
    open(ws) {
      opens++;
      if (record) connections.push(ws);
      return given.open?.(ws);
    },
    message(ws, data, isBinary) {
      messages++;
      if (record) received.push(data);
      if (userMessage !== undefined) return userMessage(ws, data, isBinary);
      ws.send(data, isBinary);
    },
    close(ws, code, reason) {
      closes.push({ code, reason });
      for (const check of [...closeWaiters]) check();
      return given.close?.(ws, code, reason);
    },
    error(ws, error) {
      errors.push(error);
      return given.error?.(ws, error);
    },
  } as WebSocketServerOptions<unknown>);

  // Every TCP connection the server accepts, for bytesRead() (a closed one keeps its count):
  // HTTP/1.1 ones, and with `http2` the HTTP/2 ones (which carry many WebSockets each).
  const sockets = new Set<Socket>();
  let readByClosed = 0;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      readByClosed += socket.bytesRead;
    });
  };
  wss.httpServer?.on("connection", track);
  wss.http2Server?.on("connection", track);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
    })();
    return stopping;
  };
  // Registered before anything can fail, so a failed start is cleaned up too.
  t?.after(stop);
  try {
    await wss.ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    wss,
    port: wss.port,
    url: `ws://127.0.0.1:${wss.port}/`,
    closes,
    errors,
    connections,
    received,
    closedWith: (code) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!closes.some((c) => c.code === code)) return;
          closeWaiters.delete(check);
          resolve();
        };
        closeWaiters.add(check);
        check();
      }),
    opens: () => opens,
    messages: () => messages,
    bytesRead: () => {
      let total = readByClosed;
      for (const socket of sockets) total += socket.bytesRead;
      return total;
    },
    tcpConnections: () => sockets.size,
    close: () => wss.close(),
    stop,
  };
}
