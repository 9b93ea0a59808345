// One wsx node per CPU core on one machine, sharing pub/sub through Redis.
//
//   npm run build && redis-server --port 6379 &
//   node examples/cluster.mjs            # then connect clients to ws://127.0.0.1:8080/
//
// node:cluster shares the listening port between the workers; a message any client sends is
// published to every client of every worker.
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { WebSocketServer } from "../dist/index.js";
import { RedisAdapter } from "../dist/redis/index.js";

const PORT = Number(process.env.PORT ?? 8080);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => console.log(`worker ${worker.process.pid} exited (${code})`));
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else {
  const adapter = new RedisAdapter({ url: REDIS_URL });
  adapter.on("error", (err) => console.error(`[${process.pid}] redis: ${err.message}`));
  const wss = new WebSocketServer({
    port: PORT,
    host: "127.0.0.1",
    adapter,
    open(ws) {
      ws.subscribe("room:lobby");
    },
    message(ws, data, isBinary) {
      ws.publish("room:lobby", data, isBinary);
    },
  });
  await wss.ready();
  console.log(`[${process.pid}] listening on ws://127.0.0.1:${PORT}/`);
  process.on("SIGTERM", async () => {
    await wss.close();
    process.exit(0);
  });
}
