/**
 * Python `websockets` peers (Debian's python3-websockets 10.x, run with /usr/bin/python3)
 * as child processes: an echo server for tests where wsx is the client, and a one-shot
 * client for tests where wsx is the server. The scripts live in `test/helpers/py/` in the
 * source tree (tsc does not copy .py files into .build).
 *
 * Require the component first: `if (!(await componentOrSkip(t, "python3-websockets"))) return;`
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { SYSTEM_PYTHON } from "./components.js";
import { spawnChild, type ChildHandle } from "./process.js";
import { scaled } from "./time.js";

/**
 * The directory holding the .py scripts: found by walking up from this module (works from
 * `test/helpers/` and from `.build/test/helpers/`) to the directory that has
 * `test/helpers/py/echo_server.py`; "" when not found (the functions below then say so).
 */
export const PY_DIR: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, "test", "helpers", "py");
    if (existsSync(join(candidate, "echo_server.py"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return "";
})();

function script(name: string): string {
  if (PY_DIR === "") throw new Error(`test/helpers/py/${name} not found above ${fileURLToPath(import.meta.url)}`);
  return join(PY_DIR, name);
}

/** One JSON line printed by a Python peer (`event` names it: listening, connection, closed, open, message, close, error). */
export interface PythonEvent {
  event: string;
  [field: string]: unknown;
}

function parseEvents(stdout: string): PythonEvent[] {
  const events: PythonEvent[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as PythonEvent);
    } catch {
      // a partial line
    }
  }
  return events;
}

/** Options of {@link startPythonEchoServer}. */
export interface PythonEchoServerOptions {
  /** Stop the server when this test ends. */
  t?: TestContext;
  /** Offer permessage-deflate. */
  compression?: boolean;
  /** Subprotocols the server accepts, in preference order. */
  subprotocols?: string[];
  /** Serve wss:// with these PEM files (e.g. `selfSignedCert()`). */
  tls?: { certPath: string; keyPath: string };
  /** The server's max_size, bytes (default 64 MiB). */
  maxSize?: number;
  /** Deadline for the "listening" line, ms before scaling (default 10000). */
  startTimeoutMs?: number;
}

/** A running Python echo server. */
export interface PythonEchoServer {
  /** `ws://127.0.0.1:<port>/` (or wss://). */
  url: string;
  port: number;
  process: ChildHandle;
  /** Every event it printed so far. */
  events(): PythonEvent[];
  /** Resolves with the next printed event matching `predicate`. */
  waitForEvent(predicate: (event: PythonEvent) => boolean, timeoutMs?: number): Promise<PythonEvent>;
  /** Ends it (stdin closed, then SIGTERM). */
  stop(): Promise<void>;
}

/**
 * Starts the Python echo server on 127.0.0.1, port 0; resolves once it listens.
 *
 * @example const py = await startPythonEchoServer({ compression: true, t }); // py.url
 */
export async function startPythonEchoServer(options: PythonEchoServerOptions = {}): Promise<PythonEchoServer> {
  const args = [script("echo_server.py")];
  if (options.compression === true) args.push("--compression");
  for (const p of options.subprotocols ?? []) args.push("--subprotocol", p);
  if (options.tls !== undefined) args.push("--cert", options.tls.certPath, "--key", options.tls.keyPath);
  if (options.maxSize !== undefined) args.push("--max-size", String(options.maxSize));
  // stdin stays open: the script exits when it closes (i.e. when this process dies).
  const child = spawnChild(SYSTEM_PYTHON, args, { t: options.t, stdin: "pipe", name: "python echo_server.py" });
  let port: number;
  try {
    const match = await child.waitForLine(/^\{"event": "listening", "port": (\d+)\}$/, options.startTimeoutMs ?? 10_000);
    port = Number(match[1]);
  } catch (error) {
    await child.kill("SIGKILL");
    throw error;
  }
  const scheme = options.tls !== undefined ? "wss" : "ws";
  return {
    url: `${scheme}://127.0.0.1:${port}/`,
    port,
    process: child,
    events: () => parseEvents(child.stdout()),
    waitForEvent: (predicate, timeoutMs = 5000) =>
      child.waitForOutput(
        (line) => {
          const [event] = parseEvents(line);
          return event !== undefined && predicate(event) ? event : undefined;
        },
        timeoutMs,
        "stdout",
        "a matching event",
      ),
    stop: async () => {
      child.child.stdin?.end();
      await child.kill("SIGTERM", 2000);
    },
  };
}

/** Options of {@link runPythonClient}. */
export interface PythonClientOptions {
  /** Kill the client if it is still running when this test ends. */
  t?: TestContext;
  /** Messages to receive before closing (default: as many as sent), or "close" to read until the server closes. */
  expect?: number | "close";
  /** The close to send (default 1000, ""); null to send none. */
  close?: { code?: number; reason?: string } | null;
  subprotocols?: string[];
  /** Offer permessage-deflate. */
  compression?: boolean;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** A CA file to trust for wss:// (e.g. `selfSignedCert().certPath`). */
  caPath?: string;
  /** The client's max_size, bytes (default 64 MiB). */
  maxSize?: number;
  /** The whole run's deadline, ms before scaling (default 10000). */
  timeoutMs?: number;
}

/** A message the Python client received. */
export type PythonMessage = { type: "text"; data: string } | { type: "binary"; data: Buffer };

/** What the Python client saw; see {@link runPythonClient}. */
export interface PythonClientResult {
  /** Exit status 0, no error event, and the connection opened. */
  ok: boolean;
  /** The negotiated subprotocol and extensions (class names, e.g. "PerMessageDeflate"), once open. */
  open: { subprotocol: string | null; extensions: string[] } | null;
  messages: PythonMessage[];
  close: { code: number | null; reason: string } | null;
  error: { error: string; message: string } | null;
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/**
 * Runs the Python client against `url`: sends `messages` (strings are text frames,
 * Buffers binary), receives `expect` messages, closes, and resolves with what it saw.
 *
 * @example const r = await runPythonClient(url, ["hi", Buffer.from([1, 2])]); // r.messages
 */
export async function runPythonClient(url: string, messages: Array<string | Uint8Array> = [], options: PythonClientOptions = {}): Promise<PythonClientResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const spec = {
    url,
    messages: messages.map((m) => (typeof m === "string" ? { text: m } : { binary: Buffer.from(m).toString("base64") })),
    expect: options.expect ?? messages.length,
    close: options.close === null ? null : { code: options.close?.code ?? 1000, reason: options.close?.reason ?? "" },
    subprotocols: options.subprotocols ?? [],
    compression: options.compression === true,
    headers: options.headers ?? {},
    ca: options.caPath ?? null,
    maxSize: options.maxSize ?? 64 * 1024 * 1024,
    timeout: scaled(timeoutMs) / 1000,
  };
  const child = spawnChild(SYSTEM_PYTHON, [script("client.py")], { t: options.t, stdin: "pipe", name: "python client.py" });
  child.child.stdin!.on("error", () => {
    // the child may exit before reading everything; its output says why
  });
  child.child.stdin!.end(JSON.stringify(spec));
  let exit;
  try {
    // The script enforces `timeout` itself; this is the backstop.
    exit = await child.exited(timeoutMs + 5000);
  } catch (error) {
    await child.kill("SIGKILL");
    throw new Error(`python client did not finish: ${(error as Error).message}\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`);
  }
  const result: PythonClientResult = {
    ok: exit.code === 0,
    open: null,
    messages: [],
    close: null,
    error: null,
    stdout: child.stdout(),
    stderr: child.stderr(),
    exitCode: exit.code,
  };
  for (const e of parseEvents(child.stdout())) {
    if (e.event === "open") result.open = { subprotocol: e.subprotocol as string | null, extensions: e.extensions as string[] };
    else if (e.event === "message") {
      result.messages.push(e.type === "text" ? { type: "text", data: e.data as string } : { type: "binary", data: Buffer.from(e.data as string, "base64") });
    } else if (e.event === "close") result.close = { code: e.code as number | null, reason: e.reason as string };
    else if (e.event === "error") result.error = { error: e.error as string, message: e.message as string };
  }
  if (result.ok && result.error === null && result.open === null) result.ok = false;
  return result;
}
