// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
/**
 * Policy for tests that need a real component installed on the machine (redis-server,
 * Chromium, Debian's Python with `websockets`, the openssl command):
 *
 * - present: the test runs;
 * - missing on a developer's machine: the test is skipped, with the reason printed;
 * - missing in CI (`CI=true`, where `bash .ci/run` installs everything): the test FAILS.
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
/** Debian's Python (has `python3-websockets`); the `python3` on PATH may be another one. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/** Debian's Chromium (a shell wrapper around /usr/lib/chromium/chromium). */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Runs a command briefly; true when it exits with status 0. */
function runsOk(cmd, args, timeoutMs = 10_000) {
    return new Promise((resolve) => {
        execFile(cmd, args, { timeout: timeoutMs }, (error) => resolve(error === null));
    });
}
function executable(path) {
    try {
        accessSync(path, constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
/** The known components and how each is detected. */
export const COMPONENTS = {
    "redis-server": { check: () => runsOk("redis-server", ["--version"]), aptPackage: "redis-server" },
    chromium: { check: () => executable(CHROMIUM_PATH), aptPackage: "chromium" },
    "python3-websockets": {
        check: () => runsOk(SYSTEM_PYTHON, ["-c", "import websockets"]),
        aptPackage: "python3-websockets",
    },
    openssl: { check: () => runsOk("openssl", ["version"]), aptPackage: "openssl" },
};
/** True when tests run in CI, where a missing component is a failure. */
export function inCI() {
    return process.env.CI === "true";
}
const cache = new Map();
/** Runs `check` once per process per name (a throwing check counts as missing). */
function checkOnce(name, check) {
    let result = cache.get(name);
    if (result === undefined) {
        result = (async () => {
            try {
                return (await check()) === true;
            }
            catch {
                return false;
            }
        })();
        cache.set(name, result);
    }
    return result;
}
function missingReason(name, hint) {
    return `${name} is not available (${hint})`;
}
/**
 * The general form: checks an arbitrary component with `check` (cached per process by
 * `name`). Resolves true when present. When missing: throws in CI; outside CI, skips the
 * test `t` (if given) with the reason and resolves false.
 *
 * @example if (!(await requireComponent("docker", () => existsSync("/usr/bin/docker"), t))) return;
 */
export async function requireComponent(name, check, t, hint = "install it, or run `bash .ci/run`") {
    if (await checkOnce(name, check))
        return true;
    const reason = missingReason(name, hint);
    if (inCI())
        throw new Error(`CI=true and a required component is missing: ${reason}`);
    t?.skip(reason);
    return false;
}
function hintFor(name) {
    return `apt-get install ${COMPONENTS[name].aptPackage}, or run \`bash .ci/run\``;
}
/**
 * For use at the top of a test body: resolves true when all `names` are present. When one
 * is missing, throws in CI (the test fails); outside CI, calls `t.skip(reason)` and
 * resolves false — the test should then return.
 *
 * @example if (!(await componentOrSkip(t, "redis-server"))) return;
 */
export async function componentOrSkip(t, ...names) {
    for (const name of names) {
        if (!(await requireComponent(name, COMPONENTS[name].check, t, hintFor(name))))
            return false;
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
export async function skipUnless(...names) {
    for (const name of names) {
        if (!(await requireComponent(name, COMPONENTS[name].check, undefined, hintFor(name)))) {
            return missingReason(name, hintFor(name));
        }
    }
    return false;
}
/** Resolves whether a known component is present (no skipping, no failing). */
export function hasComponent(name) {
    return checkOnce(name, COMPONENTS[name].check);
}
