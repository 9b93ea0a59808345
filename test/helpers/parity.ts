/**
 * The bench of the differential tests against Chromium (test/interop/*-parity.test.ts): a wsx
 * server on node:http that also serves a blank page, and headless Chromium on that page
 * (loaded from http://127.0.0.1, so Local Network Access allows its WebSockets to loopback).
 * Scenarios then run in the page and in Node against the same server.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import type { UpgradeRequestMessage } from "../../src/server/pending-handshake.js";
import { launchChromium } from "./chromium.js";

/** What a parity test runs against. */
export interface ParityBench {
  /** `http://127.0.0.1:<port>`: the page's origin and the WebSockets' base (with ws://). */
  readonly base: string;
  readonly wss: WebSocketServer<{ path: string }>;
  readonly page: Page;
  /** Closes the browser, the WebSocket server and the HTTP server. */
  close(): Promise<void>;
}

/** How the bench's server treats a connection; every message is echoed as it came. */
export interface ParityServerOptions {
  /** The page's title (names the bench in Chromium's logs). */
  title: string;
  /** Runs before acceptance; a throw (e.g. a `HandshakeError`) refuses the handshake. */
  upgrade?: (req: UpgradeRequestMessage) => void;
  /** Runs when a connection opens; `ws.data.path` is the request path. */
  open?: (ws: ServerWebSocket<{ path: string }>) => void;
}

/** Starts the server (subprotocol "a" offered) and Chromium on its page. */
export async function startParityBench(options: ParityServerOptions): Promise<ParityBench> {
  const http = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${options.title}</title>`));
  const wss = new WebSocketServer<{ path: string }>({
    server: http,
    protocols: ["a"],
    upgrade(req) {
      options.upgrade?.(req);
      return { path: req.url ?? "" };
    },
    open: options.open,
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await wss.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(base + "/");
    return { base, wss, page, close };
  } catch (error) {
    await close();
    throw error;
  }
}
