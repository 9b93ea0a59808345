/**
 * `wsx serve`: a WebSocket server with a browser chat demo at `/`, rooms at `/chat`, an echo
 * endpoint at `/echo` and `/health` for load balancers.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureServer as createHttp2SecureServer, type ServerHttp2Session } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { PubSubAdapter } from "../server/adapter.js";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "../server/prometheus.js";
import { WebSocketServer } from "../server/server.js";
import type { HistoryStore } from "../server/history.js";
import { MemoryHistory } from "../server/memory-history.js";
import { CHAT_LIMITS, chatHandlers, chatTopics, newChatMember, type ChatMember } from "./chat.js";
import { createLogger } from "./log.js";
import { generateSelfSignedCert } from "./self-signed-cert.js";
import { intOption, UsageError } from "./usage.js";

export const SERVE_HELP = `Usage: wsx serve [options]

Serves a chat demo at /, chat rooms over WebSocket at /chat (also wsx.topics.v1: rooms
are durable topics room:<name>), their messages as Server-Sent Events at
/events?topic=room:<name>, an echo endpoint at /echo (text and binary), a health check at
/health and Prometheus metrics at /metrics. Prints
the URL to open, then logs one line per connection, close and error on stderr.
SIGINT/SIGTERM: refuse new WebSocket connections (503) and answer /health with 503 while
every connection is closed with 1001, then stop listening and exit.

Options:
  --port <n>          port to listen on (default 8080; 0 picks a free port)
  --host <addr>       address to listen on (default 127.0.0.1)
  --tls-cert <file>   PEM certificate: serve https/wss (with --tls-key); also --cert
  --tls-key <file>    PEM private key; also --key
  --http2             serve HTTP/2 too (TLS, ALPN h2 and http/1.1 on one port): pages
                      and WebSockets (RFC 8441) ride one connection in browsers.
                      Without --cert/--key, a self-signed certificate for localhost is
                      generated for this run (local use only: browsers warn)
  --redis <url>       share pub/sub and room history (Redis Streams) through Redis
                      (default: in memory); needs the redis package (npm install redis)
  --compress          negotiate permessage-deflate
  --max-payload <n>   largest incoming message in bytes (default 16777216)
  --origin <origin>   allow only this Origin (repeatable; default: any)
  --quiet             log errors only
  --log <format>      log lines as text (default) or json
  -h, --help          show this help

Examples:
  wsx serve
  wsx serve --port 9000 --host 0.0.0.0 --compress
  wsx serve --http2 --cert cert.pem --key key.pem
  wsx serve --redis redis://127.0.0.1:6379 --origin https://example.com`;

const PUBLIC = fileURLToPath(new URL("./public/", import.meta.url));
/** Headers of the demo's static files: no sniffing, no framing, only our own scripts and sockets. */
const PAGE_HEADERS = {
  "Cache-Control": "no-cache",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};
const STATIC: Record<string, [file: string, type: string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/chat.js": ["chat.js", "text/javascript; charset=utf-8"],
  "/connection.js": ["connection.js", "text/javascript; charset=utf-8"],
  "/chat.css": ["chat.css", "text/css; charset=utf-8"],
};
/**
 * The browser module of the reconnecting client and the topic client: the library's own
 * compiled files (src/client/reconnect/, written browser-safe), served as they are, so the
 * page and Node run one implementation. Only these files: node.js imports Node.
 */
const RECONNECT_DIR = fileURLToPath(new URL("../client/reconnect/", import.meta.url));
const RECONNECT_FILES = new Set(["browser.js", "backoff.js", "events.js", "offset.js", "reconnecting-websocket.js", "topic-client.js"]);
const RECONNECT_PREFIX = "/wsx/reconnect/";

/** What the routes read of a request, over HTTP/1.1 or HTTP/2 (compatibility API). */
interface Request {
  url?: string;
  method?: string;
  httpVersionMajor: number;
}

/** What the routes use of a response, over HTTP/1.1 or HTTP/2 (compatibility API). */
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string | Uint8Array): unknown;
}

/** Reads a file named by an option; an unreadable file is a usage error. */
function readOption(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`--${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Runs `wsx serve`; resolves when the server has shut down. */
export async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      http2: { type: "boolean" },
      redis: { type: "string" },
      compress: { type: "boolean" },
      "max-payload": { type: "string" },
      origin: { type: "string", multiple: true },
      quiet: { type: "boolean" },
      log: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP + "\n");
    return 0;
  }
  const port = intOption("port", values.port, 8080, 0, 65535);
  const host = values.host ?? "127.0.0.1";
  const maxPayload = intOption("max-payload", values["max-payload"], 16 * 1024 * 1024, 1);
  if (values.log !== undefined && values.log !== "json" && values.log !== "text") throw new UsageError(`--log must be "json" or "text", got "${values.log}"`);
  const certFile = values["tls-cert"] ?? values.cert;
  const keyFile = values["tls-key"] ?? values.key;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError("--tls-cert and --tls-key go together (also spelt --cert and --key)");
  const log = createLogger({ quiet: values.quiet, json: values.log === "json" });

  let adapter: PubSubAdapter | undefined;
  // Room history: in memory, or in Redis Streams with --redis (shared by every node).
  let history: HistoryStore = new MemoryHistory({ maxCount: 1000 });
  if (values.redis !== undefined) {
    // Loaded only when asked for: `redis` is an optional peer dependency. Without it there
    // is no scale-out, which is not what was asked for: refuse to start.
    try {
      await import("redis");
    } catch {
      throw new Error('--redis needs the "redis" package, which is not installed here: npm install redis');
    }
    const modulePath = new URL("../redis/index.js", import.meta.url).href;
    const { RedisAdapter, RedisHistory } = (await import(modulePath)) as {
      RedisAdapter: new (o: { url: string }) => PubSubAdapter & { on(e: "error", f: (err: Error) => void): void };
      RedisHistory: new (o: { url: string; maxCount: number }) => HistoryStore & { on(e: "error", f: (err: Error) => void): void };
    };
    const redis = new RedisAdapter({ url: values.redis });
    redis.on("error", (err: Error) => log.error("redis", { message: err.message }));
    adapter = redis;
    const streams = new RedisHistory({ url: values.redis, maxCount: 1000 });
    streams.on("error", (err: Error) => log.error("redis-history", { message: err.message }));
    history = streams;
  }

  const h2 = values.http2 === true;
  // --http2 without a certificate: one made for this run, said so loudly at start-up.
  const generated = h2 && certFile === undefined ? generateSelfSignedCert() : undefined;
  const credentials =
    certFile !== undefined ? { cert: readOption("tls-cert", certFile), key: readOption("tls-key", keyFile!) } : generated !== undefined ? { cert: generated.cert, key: generated.key } : undefined;
  const tls = credentials !== undefined;
  const handler = (req: Request, res: Response): void => route(req, res);
  const sessions = new Set<ServerHttp2Session>();
  const http = h2
    ? createHttp2SecureServer({ ...credentials, allowHTTP1: true }, handler)
    : tls
      ? createHttpsServer(credentials, handler)
      : createHttpServer(handler);
  if (h2) {
    (http as import("node:http2").Http2SecureServer).on("session", (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
  }
  const common = {
    server: http,
    maxPayload,
    perMessageDeflate: values.compress === true,
    origins: values.origin,
    error: (ws: { remoteAddress: string }, err: Error) => log.error("connection-error", { remote: ws.remoteAddress, message: err.message }),
  };

  let chat: WebSocketServer<ChatMember>;
  const chatOnly = chatHandlers(() => chat);
  chat = new WebSocketServer<ChatMember>({
    ...common,
    path: "/chat",
    adapter,
    // Chat frames are small JSON objects; the echo endpoint keeps --max-payload.
    maxPayload: Math.min(maxPayload, CHAT_LIMITS.frame),
    upgrade: () => newChatMember(),
    // Rooms are durable topics; wsx.topics.v1 clients may read them here, SSE at /events.
    topics: chatTopics(history, "/events"),
    open: (ws) => log.info("open", { path: "/chat", remote: ws.remoteAddress, http: ws.httpVersion }),
    message: chatOnly.message,
    close: (ws, code, reason) => {
      chatOnly.close(ws, code, reason);
      log.info("close", { path: "/chat", remote: ws.remoteAddress, code, reason });
    },
  });
  const echo = new WebSocketServer({
    ...common,
    path: "/echo",
    open: (ws) => log.info("open", { path: "/echo", remote: ws.remoteAddress, http: ws.httpVersion }),
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
    close: (ws, code, reason) => log.info("close", { path: "/echo", remote: ws.remoteAddress, code, reason }),
  });

  let stopping = false;
  function route(req: Request, res: Response): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health") {
      // Load balancers take a draining server out of rotation on 503.
      const body = JSON.stringify({
        status: stopping ? "stopping" : "ok",
        connections: { chat: chat.clients.size, echo: echo.clients.size },
        uptime: Math.round(process.uptime()),
      });
      res.writeHead(stopping ? 503 : 200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      const text = formatPrometheus([
        { labels: { endpoint: "/chat" }, stats: chat.stats() },
        { labels: { endpoint: "/echo" }, stats: echo.stats() },
      ]);
      res.writeHead(200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : text);
      return;
    }
    if (chat.handleSse(req as IncomingMessage, res as unknown as ServerResponse)) return;
    const file = STATIC[path];
    if (file !== undefined && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "Content-Type": file[1], ...PAGE_HEADERS });
      res.end(req.method === "HEAD" ? undefined : readFileSync(PUBLIC + file[0]));
      return;
    }
    const module = path.startsWith(RECONNECT_PREFIX) ? path.slice(RECONNECT_PREFIX.length) : "";
    if (RECONNECT_FILES.has(module) && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", ...PAGE_HEADERS });
      res.end(req.method === "HEAD" ? undefined : readFileSync(RECONNECT_DIR + module));
      return;
    }
    if (path === "/chat" || path === "/echo") {
      if (stopping) {
        // Once the WebSocket servers have closed, upgrades arrive here as plain requests.
        res.writeHead(503, { "Content-Type": "text/plain", "Retry-After": "1" });
        res.end("server is shutting down\n");
        return;
      }
      if (req.httpVersionMajor === 2) {
        // HTTP/2 has no Upgrade (RFC 9113 §8.6): a WebSocket comes as an extended CONNECT.
        res.writeHead(400, { "Content-Type": "text/plain" });
        res.end("this endpoint speaks WebSocket (over HTTP/2: an RFC 8441 extended CONNECT)\n");
        return;
      }
      res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket" });
      res.end("this endpoint speaks WebSocket\n");
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(new Error(`${host}:${port} is already in use (choose another with --port, or --port 0 for any free port)`));
      else if (err.code === "EACCES") reject(new Error(`no permission to listen on ${host}:${port} (ports below 1024 need privileges)`));
      else if (err.code === "EADDRNOTAVAIL") reject(new Error(`${host} is not an address of this machine (--host)`));
      else reject(err);
    });
    http.listen(port, host, () => {
      http.removeAllListeners("error");
      http.on("error", (err) => log.error("http", { message: err.message }));
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  // An unspecified address (0.0.0.0, ::) is not something to open: show localhost instead.
  const unspecified = address.address === "0.0.0.0" || address.address === "::";
  const shownHost = unspecified ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  const base = `${tls ? "https" : "http"}://${shownHost}:${address.port}`;
  // The URL line goes to stdout so scripts (and tests) can read the actual port.
  process.stdout.write(`wsx serve: listening on ${base}/  (chat demo; WebSocket endpoints ${base.replace(/^http/, "ws")}/chat and /echo${h2 ? "; HTTP/2 and HTTP/1.1" : ""})\n`);
  if (generated !== undefined) {
    process.stdout.write(
      `wsx serve: SELF-SIGNED CERTIFICATE generated for this run (localhost, 127.0.0.1, ::1; valid to ${generated.validTo}; SHA-256 ${generated.fingerprint}).\n` +
        "wsx serve: for local use only: browsers warn about it; give --cert and --key to serve anyone else.\n",
    );
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) {
        // A second signal: do not wait for slow peers.
        log.error("shutdown-forced", { signal });
        process.exit(130);
      }
      stopping = true;
      log.info("shutdown", { signal, connections: chat.clients.size + echo.clients.size });
      // Refuse new WebSocket connections (503) and answer /health with 503 while every
      // client gets 1001; stop listening once all are closed (or after a timeout).
      const timer = setTimeout(() => {
        log.error("shutdown-timeout");
        resolve(1);
      }, 10_000);
      timer.unref();
      Promise.all([chat.close(), echo.close()]).then(() => {
        http.close();
        // 1001 went on every WebSocket first; now GOAWAY on every HTTP/2 connection.
        for (const session of sessions) session.close();
        (http as { closeAllConnections?: () => void }).closeAllConnections?.();
        clearTimeout(timer);
        resolve(0);
      });
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
}
