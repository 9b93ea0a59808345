/**
 * A TCP proxy on 127.0.0.1 in front of a server, to cut one client's connections without
 * touching the server or the other clients: point that client (a browser page, say) at the
 * proxy, then `cut()` its connections (TCP reset), `block()` new ones to keep it offline, and
 * `unblock()` to let it back.
 *
 * ```ts
 * const proxy = await startTcpProxy(t, serverPort);
 * await page.goto(`http://${proxy.host}/`);
 * proxy.block(); proxy.cut();      // the page is offline
 * proxy.unblock();                 // the page reconnects through the proxy
 * ```
 */
import { connect, createServer, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** A running proxy; see {@link startTcpProxy}. */
export interface TcpProxy {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** "127.0.0.1:PORT". */
  readonly host: string;
  /** Resets every connection open through the proxy now (both sides). */
  cut(): void;
  /** Refuses new connections (accepted, then reset) until `unblock()`. */
  block(): void;
  unblock(): void;
  /** Connections accepted so far (refused ones included). */
  accepted(): number;
  /** Connections open through it now. */
  open(): number;
  /** Stops listening and resets every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a proxy to `targetHost:targetPort`, closed when `t` ends. */
export async function startTcpProxy(t: TestContext | undefined, targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let blocked = false;
  let accepted = 0;
  const reset = (s: Socket): void => {
    if (!s.destroyed) s.resetAndDestroy();
  };
  const server = createServer((client) => {
    accepted++;
    if (blocked) return reset(client);
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      reset(client);
      reset(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const cut = (): void => {
    for (const [client, upstream] of pairs) {
      reset(client);
      reset(upstream);
    }
    pairs.clear();
  };
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      cut();
      server.close(() => resolve());
    });
    return closing;
  };
  t?.after(close);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    cut,
    block: () => void (blocked = true),
    unblock: () => void (blocked = false),
    accepted: () => accepted,
    open: () => pairs.size,
    close,
  };
}
