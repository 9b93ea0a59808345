// A wsx node for bench/fanout-redis.mjs: /sub subscribes to "t", /pub publishes to it.
// With a Redis URL argument the node shares the topic through Redis; without, in-memory.
import { WebSocketServer } from "../../dist/index.js";

const redisUrl = process.argv[2];
let adapter;
if (redisUrl) {
  const { RedisAdapter } = await import("../../dist/redis/index.js");
  adapter = new RedisAdapter({ url: redisUrl });
  adapter.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
  await adapter.ready();
}
const wss = new WebSocketServer({
  port: 0,
  host: "127.0.0.1",
  adapter,
  upgrade: (req) => (req.url === "/pub" ? "pub" : "sub"),
  open(ws) {
    if (ws.data === "sub") ws.subscribe("t");
  },
  message(ws, data, isBinary) {
    if (ws.data === "pub") wss.publish("t", data, isBinary);
  },
});
await wss.ready();
process.stdout.write(`PORT ${wss.port}\n`);
