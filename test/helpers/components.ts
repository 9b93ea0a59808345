/**
 * The component launcher's policy, in one place, for tests that need a real component on the
 * machine (redis-server, Chromium, Debian's Python with `websockets`, the openssl command):
 *
 * - present: the test runs;
 * - missing on a developer's machine: the test is skipped, with the reason printed;
 * - missing in CI (`CI=true`, where `bash .ci/run` installs everything): the test FAILS.
 *
 * Where each component is looked for can be changed with an environment variable (to use
 * another installation, or to check that tests skip when it is absent):
 *
 * | component            | default            | variable                |
 * |----------------------|--------------------|-------------------------|
 * | `redis-server`       | `redis-server` on PATH | `WSX_TEST_REDIS_SERVER` |
 * | `chromium`           | `/usr/bin/chromium`    | `WSX_TEST_CHROMIUM`     |
 * | `python3-websockets` | `/usr/bin/python3`     | `WSX_TEST_PYTHON`       |
 * | `openssl`            | `openssl` on PATH      | (none)                  |
 *
 * Two ways to use it:
 *
 * ```ts
 * test("talks to redis", async (t) => {
 *   if (!(await componentOrSkip(t, "redis-server"))) return;
 *   ...
 * });
 *
 * test("talks to redis", { skip: await skipUnless("redis-server") }, async () => { ... });
 * ```
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import type { TestContext } from "node:test";
import { scaled } from "./time.js";

/** Debian's Python (has `python3-websockets`); the `python3` on PATH may be another one. `WSX_TEST_PYTHON` overrides it. */
export const SYSTEM_PYTHON: string = process.env.WSX_TEST_PYTHON ?? "/usr/bin/python3";
/** Debian's Chromium (a shell wrapper around /usr/lib/chromium/chromium). `WSX_TEST_CHROMIUM` overrides it. */
export const CHROMIUM_PATH: string = process.env.WSX_TEST_CHROMIUM ?? "/usr/bin/chromium";
/** The redis-server command (looked up on PATH unless a path). `WSX_TEST_REDIS_SERVER` overrides it. */
export const REDIS_SERVER: string = process.env.WSX_TEST_REDIS_SERVER ?? "redis-server";

/** Runs a command briefly; true when it exits with status 0. */
function runsOk(cmd: string, args: string[], timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: scaled(timeoutMs) }, (error) => resolve(error === null));
  });
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How one known component is detected, and the Debian package that provides it. */
export interface ComponentSpec {
  /** Resolves (or returns) true when the component is usable. */
  check(): boolean | Promise<boolean>;
  /** The Debian package `.ci/run` installs for it. */
  aptPackage: string;
}

/** The names of the known components. */
export type ComponentName = "redis-server" | "chromium" | "python3-websockets" | "openssl";

/** The known components and how each is detected. */
export const COMPONENTS: Record<ComponentName, ComponentSpec> = {
  "redis-server": { check: () => runsOk(REDIS_SERVER, ["--version"]), aptPackage: "redis-server" },
  chromium: { check: () => executable(CHROMIUM_PATH), aptPackage: "chromium" },
  "python3-websockets": {
    check: () => runsOk(SYSTEM_PYTHON, ["-c", "import websockets"]),
    aptPackage: "python3-websockets",
  },
  openssl: { check: () => runsOk("openssl", ["version"]), aptPackage: "openssl" },
};

/** True when tests run in CI (`CI=true`), where a missing component is a failure. */
export function inCI(): boolean {
  return process.env.CI === "true";
}

const cache = new Map<string, Promise<boolean>>();

/** Runs `check` once per process per name (a throwing check counts as missing). */
function checkOnce(name: string, check: () => boolean | Promise<boolean>): Promise<boolean> {
  let result = cache.get(name);
  if (result === undefined) {
    result = (async () => {
      try {
        return (await check()) === true;
      } catch {
        return false;
      }
    })();
    cache.set(name, result);
  }
  return result;
}

function missingReason(name: string, hint: string): string {
  return `${name} is not available (${hint})`;
}

/**
 * The general form: checks an arbitrary component with `check` (cached per process by
 * `name`). Resolves true when present. When missing: throws in CI; outside CI, skips the
 * test `t` (if given) with the reason and resolves false.
 *
 * @example if (!(await requireComponent("docker", () => existsSync("/usr/bin/docker"), t))) return;
 */
export async function requireComponent(
  name: string,
  check: () => boolean | Promise<boolean>,
  t?: TestContext,
  hint = "install it, or run `bash .ci/run`",
): Promise<boolean> {
  if (await checkOnce(name, check)) return true;
  const reason = missingReason(name, hint);
  if (inCI()) throw new Error(`CI=true and a required component is missing: ${reason}`);
  t?.skip(reason);
  return false;
}

function hintFor(name: ComponentName): string {
  return `apt-get install ${COMPONENTS[name].aptPackage}, or run \`bash .ci/run\``;
}

/**
 * For use at the top of a test body: resolves true when all `names` are present. When one
 * is missing, throws in CI (the test fails); outside CI, calls `t.skip(reason)` and
 * resolves false — the test should then return.
 *
 * @example if (!(await componentOrSkip(t, "redis-server"))) return;
 */
export async function componentOrSkip(t: TestContext, ...names: ComponentName[]): Promise<boolean> {
  for (const name of names) {
    if (!(await requireComponent(name, COMPONENTS[name].check, t, hintFor(name)))) return false;
  }
  return true;
}

/**
 * For the `skip` option of `test()`/`describe()`: resolves false when all `names` are
 * present, else the skip reason. In CI a missing component rejects instead, which fails
 * the test file at load time with that message.
 *
 * @example test("pub/sub", { skip: await skipUnless("redis-server") }, async (t) => { ... });
 */
export async function skipUnless(...names: ComponentName[]): Promise<false | string> {
  for (const name of names) {
    if (!(await requireComponent(name, COMPONENTS[name].check, undefined, hintFor(name)))) {
      return missingReason(name, hintFor(name));
    }
  }
  return false;
}

/** Resolves whether a known component is present (no skipping, no failing). */
export function hasComponent(name: ComponentName): Promise<boolean> {
  return checkOnce(name, COMPONENTS[name].check);
}
