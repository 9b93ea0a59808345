/** A real redis-server child process on a free loopback port. */
import { createServer } from "node:net";
import { spawnChild, type Child } from "./processes.js";

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A running redis-server. */
export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server with no persistence, waiting until it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: Child | null = null;
  const launch = async (): Promise<void> => {
    child = spawnChild("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
    await child.waitFor(/Ready to accept connections/, 10_000);
  };
  await launch();
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child === null) return;
    const c: Child = child;
    child = null;
    c.kill(signal);
    await c.exited(10_000);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => stopWith("SIGKILL"),
    restart: launch,
    stop: () => stopWith("SIGTERM"),
  };
}
