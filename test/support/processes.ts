/** Child processes for tests: always killed at the end, output collected, lines awaited. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** A running child with its collected output. */
export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout/stderr match of `re`, rejecting after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (null if killed by a signal), rejecting after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Spawns a child process; it is killed when the test process exits, at the latest. */
export function spawnChild(command: string, args: string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  live.add(proc);
  let out = "";
  let err = "";
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout?.on("data", (d) => {
    out += d;
    wake();
  });
  proc.stderr?.on("data", (d) => {
    err += d;
    wake();
  });
  const exit = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      live.delete(proc);
      wake();
      resolve(code);
    }),
  );
  proc.on("error", () => {});
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    async waitFor(re, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = (out + "\n" + err).match(re);
        if (m) return m;
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`process exited before ${re}: ${out}\n${err}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${re}: ${out}\n${err}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    async exited(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exit,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`process still running after ${timeoutMs} ms: ${out}\n${err}`)), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return code;
    },
    kill(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}
