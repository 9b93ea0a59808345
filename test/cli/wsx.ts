/**
 * Runs the built `wsx` command (dist/cli/main.js) as a child process for the CLI tests:
 * stdin piped, output collected, killed at the end of the test.
 */
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnChild, type ChildHandle } from "../helpers/process.js";

/** The repository root (tests run from .build/test/cli/). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The command's entry point, as package.json's `bin.wsx` names it. */
export const WSX = join(ROOT, "dist/cli/main.js");

/** Starts `wsx ...args` (killed at the end of `t` if given); `input` is written to its stdin, which is then closed. */
export function wsx(t: TestContext | undefined, args: string[], input = ""): ChildHandle {
  const child = spawnChild(process.execPath, [WSX, ...args], { t, cwd: ROOT, stdin: "pipe", name: `wsx ${args.join(" ")}` });
  child.child.stdin!.on("error", () => {}); // the command may exit before reading it all
  child.child.stdin!.end(input);
  return child;
}

/** Runs `wsx ...args` to completion; resolves with its exit code and output. */
export async function run(t: TestContext | undefined, args: string[], input = "", timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = wsx(t, args, input);
  const { code } = await child.exited(timeoutMs);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** A running `wsx serve` and the host:port it printed. */
export interface Served {
  child: ChildHandle;
  /** "127.0.0.1:PORT" as printed on the listening line. */
  host: string;
}

/** Starts `wsx serve --port 0 ...args` and reads the address from the line it prints. */
export async function serve(t: TestContext | undefined, args: string[] = [], scheme = "http"): Promise<Served> {
  const child = wsx(t, ["serve", "--port", "0", ...args]);
  const m = await child.waitForLine(new RegExp(`listening on ${scheme}://(127\\.0\\.0\\.1:\\d+)/`), 15_000);
  return { child, host: m[1] };
}

/** Parses JSON lines (the output of `--json`). */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}
