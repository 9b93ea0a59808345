// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
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
import { fileURLToPath } from "node:url";
import { SYSTEM_PYTHON } from "./components.js";
import { spawnChild } from "./process.js";
/**
 * The directory holding the .py scripts: found by walking up from this module (works from
 * `test/helpers/` and from `.build/test/helpers/`) to the directory that has
 * `test/helpers/py/echo_server.py`.
 */
export const PY_DIR = (() => {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 8; i++) {
        const candidate = join(dir, "test", "helpers", "py");
        if (existsSync(join(candidate, "echo_server.py")))
            return candidate;
        const parent = dirname(dir);
        if (parent === dir)
            break;
        dir = parent;
    }
    // Resolved lazily by the functions below, which report the problem clearly.
    return "";
})();
function script(name) {
    if (PY_DIR === "")
        throw new Error(`test/helpers/py/${name} not found above ${fileURLToPath(import.meta.url)}`);
    return join(PY_DIR, name);
}
function parseEvents(stdout) {
    const events = [];
    for (const line of stdout.split("\n")) {
        if (!line.startsWith("{"))
            continue;
        try {
            events.push(JSON.parse(line));
        }
        catch {
            // a partial line
        }
    }
    return events;
}
/**
 * Starts the Python echo server on 127.0.0.1, port 0; resolves once it listens.
 *
 * @example const py = await startPythonEchoServer({ compression: true, t }); // py.url
 */
export async function startPythonEchoServer(options = {}) {
    const args = [script("echo_server.py")];
    if (options.compression === true)
        args.push("--compression");
    for (const p of options.subprotocols ?? [])
        args.push("--subprotocol", p);
    if (options.tls !== undefined)
        args.push("--cert", options.tls.certPath, "--key", options.tls.keyPath);
    if (options.maxSize !== undefined)
        args.push("--max-size", String(options.maxSize));
    // stdin stays open: the script exits when it closes (i.e. when this process dies).
    const child = spawnChild(SYSTEM_PYTHON, args, { t: options.t, stdin: "pipe", name: "python echo_server.py" });
    let port;
    try {
        const match = await child.waitForLine(/^\{"event": "listening", "port": (\d+)\}$/, options.startTimeoutMs ?? 10_000);
        port = Number(match[1]);
    }
    catch (error) {
        await child.kill("SIGKILL");
        throw error;
    }
    const scheme = options.tls !== undefined ? "wss" : "ws";
    return {
        url: `${scheme}://127.0.0.1:${port}/`,
        port,
        process: child,
        events: () => parseEvents(child.stdout()),
        waitForEvent: (predicate, timeoutMs = 5000) => child.waitForOutput((line) => {
            const [event] = parseEvents(line);
            return event !== undefined && predicate(event) ? event : undefined;
        }, timeoutMs, "stdout", "a matching event"),
        stop: async () => {
            child.child.stdin?.end();
            await child.kill("SIGTERM", 2000);
        },
    };
}
/**
 * Runs the Python client against `url`: sends `messages` (strings are text frames,
 * Buffers binary), receives `expect` messages, closes, and resolves with what it saw.
 *
 * @example const r = await runPythonClient(url, ["hi", Buffer.from([1, 2])]); // r.messages
 */
export async function runPythonClient(url, messages = [], options = {}) {
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
        timeout: timeoutMs / 1000,
    };
    const child = spawnChild(SYSTEM_PYTHON, [script("client.py")], { t: options.t, stdin: "pipe", name: "python client.py" });
    child.child.stdin.on("error", () => {
        // the child may exit before reading everything; its output says why
    });
    child.child.stdin.end(JSON.stringify(spec));
    let exit;
    try {
        // The script enforces `timeout` itself; this is the backstop.
        exit = await child.exited(timeoutMs + 5000);
    }
    catch (error) {
        await child.kill("SIGKILL");
        throw new Error(`python client did not finish: ${error.message}\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`);
    }
    const result = {
        ok: exit.code === 0,
        open: null,
        messages: [],
        close: null,
        error: null,
        stdout: child.stdout(),
        stderr: child.stderr(),
        exitCode: exit.code,
    };
    for (const line of child.stdout().split("\n")) {
        if (line.trim() === "")
            continue;
        const e = JSON.parse(line);
        if (e.event === "open")
            result.open = { subprotocol: e.subprotocol, extensions: e.extensions };
        else if (e.event === "message") {
            result.messages.push(e.type === "text" ? { type: "text", data: e.data } : { type: "binary", data: Buffer.from(e.data, "base64") });
        }
        else if (e.event === "close")
            result.close = { code: e.code, reason: e.reason };
        else if (e.event === "error")
            result.error = { error: e.error, message: e.message };
    }
    if (result.ok && result.error === null && result.open === null) {
        result.ok = false;
    }
    return result;
}
