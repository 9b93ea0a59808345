/**
 * Child processes for tests (redis-server, Python peers, the wsx command, fixture nodes):
 * output is collected for assertions, lines can be awaited with a deadline, and the process
 * is always killed at the end — at the end of the test when a TestContext is given, and in
 * any case when the test process exits.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import type { TestContext } from "node:test";
import { scaled } from "./time.js";

/** Default deadline of the waits below before scaling, ms. */
const DEFAULT_TIMEOUT_MS = 5000;

/** How a child ended: exit code, or the signal that ended it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Which output a wait looks at. */
export type OutputStream = "stdout" | "stderr" | "both";

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  /** Kill the child (SIGTERM, then SIGKILL after the grace) when this test ends. */
  t?: TestContext;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdin of the child: "ignore" (default) or "pipe". */
  stdin?: "ignore" | "pipe";
  /** Name used in error messages (default: the command). */
  name?: string;
  /** Time between SIGTERM and SIGKILL in `kill()`, ms before scaling (default 2000). */
  killGraceMs?: number;
}

/** A spawned child (see {@link spawnChild}). */
export interface ChildHandle {
  /** The underlying process. */
  readonly child: ChildProcess;
  /** Its pid (-1 when it could not start). */
  readonly pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the match of the first line (after earlier matches) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number, stream?: OutputStream): Promise<RegExpMatchArray>;
  /** Resolves with the first non-null `find(line)`, rejecting on exit or after the deadline. */
  waitForOutput<T>(find: (line: string) => T | null | undefined, timeoutMs?: number, stream?: OutputStream, what?: string): Promise<T>;
  /** Resolves once the child has exited (all its output collected). */
  exited(timeoutMs?: number): Promise<ExitInfo>;
  /** Whether it is still running. */
  running(): boolean;
  /** Sends `signal` (default SIGTERM), then SIGKILL after `graceMs`; resolves once it has exited. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = (): void => {
    for (const child of live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  // Synchronous last resort: a child outliving the test process would hold ports and CPU.
  process.on("exit", killAll);
  // "exit" does not run when a signal ends the process: kill the children, then let the
  // signal take its default course unless someone else (e.g. playwright) handles it.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function tail(text: string, max = 2000): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/**
 * Starts `cmd args` with stdout/stderr piped and collected.
 *
 * @example
 * const p = spawnChild("redis-server", ["--port", "0"], { t });
 * await p.waitForLine(/Ready to accept/, 5000);
 */
export function spawnChild(cmd: string, args: string[] = [], options: SpawnChildOptions = {}): ChildHandle {
  installExitHook();
  const name = options.name ?? cmd;
  const stdio: StdioOptions = [options.stdin ?? "ignore", "pipe", "pipe"];
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio });
  live.add(child);
  let out = "";
  let err = "";
  const lines: Array<{ stream: "stdout" | "stderr"; text: string }> = [];
  const partial = { stdout: "", stderr: "" };
  const lineListeners = new Set<() => void>();
  let exitInfo: ExitInfo | null = null;
  let spawnError: Error | null = null;
  const exitListeners = new Set<() => void>();

  const onData = (stream: "stdout" | "stderr", chunk: string): void => {
    if (stream === "stdout") out += chunk;
    else err += chunk;
    const parts = (partial[stream] + chunk).split("\n");
    partial[stream] = parts.pop() ?? "";
    if (parts.length === 0) return;
    for (const line of parts) lines.push({ stream, text: line.replace(/\r$/, "") });
    for (const listener of [...lineListeners]) listener();
  };
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => onData("stdout", chunk));
  child.stderr!.on("data", (chunk: string) => onData("stderr", chunk));

  const finish = (info: ExitInfo): void => {
    if (exitInfo !== null) return;
    exitInfo = info;
    live.delete(child);
    // A last line without a newline still counts once the process is gone.
    for (const stream of ["stdout", "stderr"] as const) {
      if (partial[stream] !== "") {
        lines.push({ stream, text: partial[stream] });
        partial[stream] = "";
      }
    }
    for (const listener of [...lineListeners]) listener();
    for (const listener of [...exitListeners]) listener();
  };
  // "close" fires after the stdio streams are drained, so all output has been collected.
  child.on("close", (code, signal) => finish({ code, signal }));
  // ...unless a grandchild keeps the pipes open: then "exit" must do, after a moment.
  child.on("exit", (code, signal) => {
    setTimeout(() => finish({ code, signal }), 1000).unref();
  });
  child.on("error", (error) => {
    spawnError = error;
    if (child.pid === undefined) finish({ code: null, signal: null });
  });

  const exited = (timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ExitInfo> => {
    if (exitInfo !== null) return Promise.resolve(exitInfo);
    const limit = scaled(timeoutMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        exitListeners.delete(done);
        reject(new Error(`${name} (pid ${child.pid}) did not exit within ${limit} ms`));
      }, limit);
      const done = (): void => {
        clearTimeout(timer);
        exitListeners.delete(done);
        resolve(exitInfo!);
      };
      exitListeners.add(done);
    });
  };

  const kill = async (signal: NodeJS.Signals = "SIGTERM", graceMs = options.killGraceMs ?? 2000): Promise<ExitInfo> => {
    if (exitInfo !== null) return exitInfo;
    child.kill(signal);
    try {
      return await exited(graceMs);
    } catch {
      child.kill("SIGKILL");
      return exited(DEFAULT_TIMEOUT_MS);
    }
  };

  const waitForOutput = <T>(
    find: (line: string) => T | null | undefined,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    stream: OutputStream = "stdout",
    what = "the expected line",
  ): Promise<T> =>
    new Promise((resolve, reject) => {
      const limit = scaled(timeoutMs);
      let scanned = 0;
      const check = (): void => {
        for (; scanned < lines.length; scanned++) {
          const line = lines[scanned];
          if (stream !== "both" && line.stream !== stream) continue;
          const found = find(line.text);
          if (found !== undefined && found !== null) {
            scanned++;
            cleanup();
            resolve(found);
            return;
          }
        }
        if (exitInfo !== null) {
          cleanup();
          const why = spawnError !== null ? `could not start: ${spawnError.message}` : `exited (code ${exitInfo.code}, signal ${exitInfo.signal})`;
          reject(new Error(`${name} ${why} before printing ${what}\nstdout: ${tail(out)}\nstderr: ${tail(err)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${name}: ${what} did not appear on ${stream} within ${limit} ms\nstdout: ${tail(out)}\nstderr: ${tail(err)}`));
      }, limit);
      const cleanup = (): void => {
        clearTimeout(timer);
        lineListeners.delete(check);
      };
      lineListeners.add(check);
      check();
    });

  const waitForLine = (pattern: RegExp, timeoutMs = DEFAULT_TIMEOUT_MS, stream: OutputStream = "stdout"): Promise<RegExpMatchArray> =>
    waitForOutput((line) => line.match(pattern), timeoutMs, stream, `a line matching ${pattern}`);

  const handle: ChildHandle = {
    child,
    get pid() {
      return child.pid ?? -1;
    },
    stdout: () => out,
    stderr: () => err,
    waitForLine,
    waitForOutput,
    exited,
    running: () => exitInfo === null,
    kill,
  };
  options.t?.after(async () => {
    await kill();
  });
  return handle;
}
