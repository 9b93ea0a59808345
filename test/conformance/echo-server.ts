/**
 * The server under test for the conformance suite: a real wsx `WebSocketServer` on an
 * ephemeral loopback port that echoes every message, and records what its handlers saw.
 */
import { WebSocketServer } from "../../src/server/server.js";
import type { WebSocketServerOptions } from "../../src/server/options.js";

/** A close as the server's `close` handler reported it. */
export interface SeenClose {
  code: number;
  reason: string;
}

/** A running echo server; see {@link startEchoServer}. */
export interface EchoServer {
  /** The server. */
  readonly wss: WebSocketServer<unknown>;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Every `close` handler call, in order. */
  readonly closes: SeenClose[];
  /** Every `error` handler call, in order. */
  readonly errors: Error[];
  /** Closes the server (1001 to the clients left, then their close handshakes) and waits for it. */
  close(): Promise<void>;
  /** Test cleanup: drops every client at once (no handshake to wait for), then closes. */
  stop(): Promise<void>;
}

/**
 * Starts `new WebSocketServer({ port: 0, host: "127.0.0.1", message(ws, d, b) { ws.send(d, b) } })`;
 * `options` override or add to these (e.g. `maxPayload`, `closeTimeout`, `upgrade`).
 */
export async function startEchoServer(options: Partial<WebSocketServerOptions<unknown>> = {}): Promise<EchoServer> {
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
  return { wss, port: wss.port, closes, errors, close: () => wss.close(), stop };
}
