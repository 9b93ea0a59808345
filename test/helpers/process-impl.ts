// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
/**
 * Child processes for tests (redis-server, Python peers, the wsx command): output is
 * collected for assertions, lines can be awaited with a timeout, and the process is
 * always killed at the end — at the end of the test when a TestContext is given, and in
 * any case when the test process exits.
 */
import { spawn } from "node:child_process";
const DEFAULT_TIMEOUT_MS = 5000;
const live = new Set();
let exitHookInstalled = false;
function installExitHook() {
    if (exitHookInstalled)
        return;
    exitHookInstalled = true;
    const killAll = () => {
        for (const child of live) {
            try {
                child.kill("SIGKILL");
            }
            catch {
                // already gone
            }
        }
    };
    // Synchronous last resort: a child outliving the test process would hold ports and CPU.
    process.on("exit", killAll);
    // "exit" does not run when a signal ends the process: kill the children, then let the
    // signal take its default course unless someone else (e.g. playwright) handles it.
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
        process.once(signal, () => {
            killAll();
            if (process.listenerCount(signal) === 0)
                process.kill(process.pid, signal);
        });
    }
}
function tail(text, max = 2000) {
    return text.length > max ? `…${text.slice(-max)}` : text;
}
/**
 * Starts `cmd args` with stdout/stderr piped and collected.
 *
 * @example
 * const p = spawnChild("redis-server", ["--port", "0"], { t });
 * await p.waitForLine(/Ready to accept/, 5000);
 */
export function spawnChild(cmd, args = [], options = {}) {
    installExitHook();
    const name = options.name ?? cmd;
    const child = spawn(cmd, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    });
    live.add(child);
    let out = "";
    let err = "";
    const lines = [];
    const partial = { stdout: "", stderr: "" };
    const lineListeners = new Set();
    let exitInfo = null;
    let spawnError = null;
    const exitListeners = new Set();
    const onData = (stream, chunk) => {
        if (stream === "stdout")
            out += chunk;
        else
            err += chunk;
        const text = partial[stream] + chunk;
        const parts = text.split("\n");
        partial[stream] = parts.pop() ?? "";
        if (parts.length === 0)
            return;
        for (const line of parts)
            lines.push({ stream, text: line.replace(/\r$/, "") });
        for (const listener of [...lineListeners])
            listener();
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => onData("stdout", chunk));
    child.stderr.on("data", (chunk) => onData("stderr", chunk));
    const finish = (info) => {
        if (exitInfo !== null)
            return;
        exitInfo = info;
        live.delete(child);
        // A last line without a newline still counts once the process is gone.
        for (const stream of ["stdout", "stderr"]) {
            if (partial[stream] !== "") {
                lines.push({ stream, text: partial[stream] });
                partial[stream] = "";
            }
        }
        for (const listener of [...lineListeners])
            listener();
        for (const listener of [...exitListeners])
            listener();
    };
    // "close" fires after the stdio streams are drained, so all output has been collected.
    child.on("close", (code, signal) => finish({ code, signal }));
    // ...unless a grandchild keeps the pipes open: then "exit" must do, after a moment.
    child.on("exit", (code, signal) => {
        setTimeout(() => finish({ code, signal }), 1000).unref();
    });
    child.on("error", (error) => {
        spawnError = error;
        if (child.pid === undefined)
            finish({ code: null, signal: null });
    });
    const exited = (timeoutMs = DEFAULT_TIMEOUT_MS) => {
        if (exitInfo !== null)
            return Promise.resolve(exitInfo);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                exitListeners.delete(done);
                reject(new Error(`${name} (pid ${child.pid}) did not exit within ${timeoutMs} ms`));
            }, timeoutMs);
            const done = () => {
                clearTimeout(timer);
                exitListeners.delete(done);
                resolve(exitInfo);
            };
            exitListeners.add(done);
        });
    };
    const kill = async (signal = "SIGTERM", graceMs = options.killGraceMs ?? 2000) => {
        if (exitInfo !== null)
            return exitInfo;
        child.kill(signal);
        try {
            return await exited(graceMs);
        }
        catch {
            child.kill("SIGKILL");
            return exited(DEFAULT_TIMEOUT_MS);
        }
    };
    const waitForOutput = (find, timeoutMs = DEFAULT_TIMEOUT_MS, stream = "stdout", what = "the expected line") => new Promise((resolve, reject) => {
        let scanned = 0;
        const check = () => {
            for (; scanned < lines.length; scanned++) {
                const line = lines[scanned];
                if (stream !== "both" && line.stream !== stream)
                    continue;
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
            reject(new Error(`${name}: ${what} did not appear on ${stream} within ${timeoutMs} ms\nstdout: ${tail(out)}\nstderr: ${tail(err)}`));
        }, timeoutMs);
        const cleanup = () => {
            clearTimeout(timer);
            lineListeners.delete(check);
        };
        lineListeners.add(check);
        check();
    });
    const waitForLine = (pattern, timeoutMs = DEFAULT_TIMEOUT_MS, stream = "stdout") => waitForOutput((line) => line.match(pattern), timeoutMs, stream, `a line matching ${pattern}`);
    const handle = {
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
    if (options.t !== undefined) {
        options.t.after(async () => {
            await kill();
        });
    }
    return handle;
}

/** A spawned child (see {@link spawnChild}). */
