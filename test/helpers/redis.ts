/**
 * A real redis-server as a child process on 127.0.0.1 (no persistence), for the Redis
 * scale-out tests. Require the component first:
 * `if (!(await componentOrSkip(t, "redis-server"))) return;` or `{ skip: await skipUnless("redis-server") }`.
 */
import { tmpdir } from "node:os";
import type { TestContext } from "node:test";
import { REDIS_SERVER } from "./components.js";
import { freePort } from "./ports.js";
import { spawnChild, type ChildHandle } from "./process.js";

const READY = /Ready to accept connections/;
const BIND_FAILED = /Address already in use|Could not create server TCP listening socket/;
/** Attempts with a fresh port when another process took the chosen one first. */
const START_ATTEMPTS = 5;

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Stop the server when this test (or suite hook's test) ends. */
  t?: TestContext;
  /** Extra redis-server arguments. */
  args?: string[];
  /** Deadline for "Ready to accept connections", ms before scaling (default 10000). */
  startTimeoutMs?: number;
}

/** A running redis-server; see {@link startRedis}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The current process (a new one after `restart()`). */
  process(): ChildHandle;
  /** SIGTERM (SIGKILL after 2 s); resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Stops it if running and starts it again on the same port. */
  restart(): Promise<void>;
}

/**
 * Spawns `redis-server --port <free> --bind 127.0.0.1 --save "" --appendonly no
 * --daemonize no` and resolves once it logs "Ready to accept connections".
 *
 * @example const redis = await startRedis({ t }); await client.connect(redis.url);
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let child: ChildHandle | null = null;
  const launch = async (port: number): Promise<"ready" | "port-taken"> => {
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
    const started = spawnChild(REDIS_SERVER, args, { name: `redis-server :${port}` });
    child = started;
    try {
      await started.waitForLine(READY, timeoutMs);
      return "ready";
    } catch (error) {
      await started.kill("SIGKILL");
      if (BIND_FAILED.test(started.stdout() + started.stderr())) return "port-taken";
      throw error;
    }
  };
  const current = (): ChildHandle => {
    if (child === null) throw new Error("redis-server: not started");
    return child;
  };
  const stop = async (): Promise<void> => {
    if (child !== null) await child.kill("SIGTERM", 2000);
  };
  // Registered first, so a start that fails half-way is cleaned up too.
  options.t?.after(stop);

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    if ((await launch(port)) === "ready") break;
    if (attempt >= START_ATTEMPTS) throw new Error(`redis-server: no free port after ${START_ATTEMPTS} attempts`);
  }
  return {
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
      // The port can only be taken by someone else in between: retry a few times.
      for (let attempt = 1; ; attempt++) {
        if ((await launch(port)) === "ready") return;
        if (attempt >= START_ATTEMPTS) throw new Error(`redis-server: port ${port} still in use after ${START_ATTEMPTS} restart attempts`);
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    },
  };
}
