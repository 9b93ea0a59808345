/** Python `websockets` peers (Debian's python3-websockets), started as child processes. */
import { fileURLToPath } from "node:url";
import { SYSTEM_PYTHON } from "./components.js";
import { spawnChild, type Child } from "./processes.js";

/** The .py files live in the source tree (tsc does not copy them). */
const PY = fileURLToPath(new URL("../../../test/support/py/", import.meta.url));

/** Starts the Python echo server; resolves with its URL once it listens. */
export async function startPythonEchoServer(options: { compress?: boolean; protocols?: string[] } = {}): Promise<{ url: string; child: Child; stop(): Promise<void> }> {
  const args = [PY + "echo_server.py"];
  if (options.compress) args.push("--compress");
  for (const p of options.protocols ?? []) args.push("--protocol", p);
  const child = spawnChild(SYSTEM_PYTHON, args);
  const m = await child.waitFor(/PORT (\d+)/, 15_000);
  return {
    url: `ws://127.0.0.1:${m[1]}/`,
    child,
    stop: async () => {
      child.kill("SIGKILL");
      await child.exited(5000);
    },
  };
}

/** Runs the Python client against `url` with `lines` on stdin; resolves with its JSON output lines. */
export async function runPythonClient(url: string, lines: string[], options: { compress?: boolean } = {}): Promise<unknown[]> {
  const args = [PY + "client.py", url];
  if (options.compress) args.push("--compress");
  const child = spawnChild(SYSTEM_PYTHON, args);
  child.proc.stdin!.end(lines.map((l) => l + "\n").join(""));
  const code = await child.exited(30_000);
  if (code !== 0) throw new Error(`python client exited ${code}: ${child.stderr()}`);
  return child
    .stdout()
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}
