/**
 * Real components (redis-server, Chromium, Python websockets): a test that needs one is
 * skipped with the reason when it is missing on a developer's machine, and fails in CI
 * (CI=true), where .ci/run installs everything.
 */
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** Debian's Python, which has the `websockets` package (the PATH python may not). */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

const checks: Record<string, () => boolean> = {
  "redis-server": () => spawnSync("redis-server", ["--version"]).status === 0,
  chromium: () => existsSync(CHROMIUM),
  "python3-websockets": () => spawnSync(SYSTEM_PYTHON, ["-c", "import websockets"]).status === 0,
  openssl: () => spawnSync("openssl", ["version"]).status === 0,
};

/**
 * For `test(name, { skip: missing("redis-server") }, ...)`: false when present; a reason
 * string when missing outside CI. Throws in CI, so a missing component fails the run.
 */
export function missing(component: keyof typeof checks & string): false | string {
  if (checks[component]()) return false;
  const reason = `${component} is not installed (bash .ci/run installs it)`;
  if (process.env.CI === "true") throw new Error(`CI: required component missing: ${reason}`);
  return reason;
}
