// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
import { tmpdir } from "node:os";
import { freePort } from "./ports.js";
import { spawnChild } from "./process.js";
const READY = /Ready to accept connections/;
const BIND_FAILED = /Address already in use|Could not create server TCP listening socket/;
/** Attempts with a fresh port when another process took the chosen one first. */
const START_ATTEMPTS = 5;
/**
 * Spawns `redis-server --port <free> --bind 127.0.0.1 --save "" --appendonly no
 * --daemonize no` and resolves once it logs "Ready to accept connections".
 *
 * @example const redis = await startRedis({ t }); await client.connect(redis.url);
 */
export async function startRedis(options = {}) {
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    let child = null;
    const launch = async (port) => {
        const args = [
            "--port", String(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", tmpdir(),
            "--loglevel", "notice",
            ...(options.args ?? []),
        ];
        const started = spawnChild("redis-server", args, { name: `redis-server :${port}` });
        child = started;
        try {
            await started.waitForLine(READY, timeoutMs);
            return "ready";
        }
        catch (error) {
            await started.kill("SIGKILL");
            if (BIND_FAILED.test(started.stdout() + started.stderr()))
                return "port-taken";
            throw error;
        }
    };
    let port = 0;
    for (let attempt = 1;; attempt++) {
        port = await freePort();
        if ((await launch(port)) === "ready")
            break;
        if (attempt >= START_ATTEMPTS)
            throw new Error(`redis-server: no free port after ${START_ATTEMPTS} attempts`);
    }
    const current = () => child;
    const stop = async () => {
        await current().kill("SIGTERM", 2000);
    };
    const server = {
        url: `redis://127.0.0.1:${port}`,
        port,
        host: "127.0.0.1",
        process: current,
        stop,
        kill: async () => {
            await current().kill("SIGKILL");
        },
        restart: async () => {
            await stop();
            // The port can only be taken by someone else in between; retry briefly, bounded.
            for (let attempt = 1;; attempt++) {
                if ((await launch(port)) === "ready")
                    return;
                if (attempt >= START_ATTEMPTS)
                    throw new Error(`redis-server: port ${port} still in use after ${START_ATTEMPTS} restart attempts`);
                await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
            }
        },
    };
    options.t?.after(stop);
    return server;
}
