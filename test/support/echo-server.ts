/** An echo WebSocketServer on a free loopback port, for conformance tests. */
import { WebSocketServer } from "../../src/server/server.js";
import type { WebSocketServerOptions } from "../../src/server/options.js";

/** What the server saw, for assertions. */
export interface EchoServer {
  wss: WebSocketServer<any>;
  port: number;
  /** Close events seen by the server handler: code and reason. */
  closes: Array<{ code: number; reason: string }>;
  /** Errors reported to the server's `error` handler. */
  errors: Error[];
  close(): Promise<void>;
}

/** Starts an echo server; extra options override the defaults. */
export async function startEchoServer(options: Partial<WebSocketServerOptions<any>> = {}): Promise<EchoServer> {
  const closes: Array<{ code: number; reason: string }> = [];
  const errors: Error[] = [];
  const wss = new WebSocketServer<any>({
    port: 0,
    host: "127.0.0.1",
    message(ws, data, isBinary) {
      ws.send(data, isBinary);
    },
    close(_ws, code, reason) {
      closes.push({ code, reason });
    },
    error(_ws, err) {
      errors.push(err);
    },
    ...options,
  } as WebSocketServerOptions<any>);
  await wss.ready();
  return { wss, port: wss.port, closes, errors, close: () => wss.close() };
}

/** Waits until `predicate()` holds, polling every 5 ms, failing after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
