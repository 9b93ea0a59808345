// Follows a chat room of `wsx serve` from Node with the reconnecting topic client: prints
// the room's recent history, then every new message, and keeps going across server
// restarts and network cuts (resuming from the last offset it printed; a gap it cannot
// fill is said plainly).
//
//   npm run build && node dist/cli/main.js serve &
//   node examples/follow-room.mjs [ws://127.0.0.1:8080/chat] [lobby]
import { ReconnectingWebSocket, TopicClient, TOPICS_PROTOCOL } from "../dist/index.js";

const url = process.argv[2] ?? "ws://127.0.0.1:8080/chat";
const room = process.argv[3] ?? "lobby";

const socket = new ReconnectingWebSocket(url, TOPICS_PROTOCOL, { maxDelay: 10_000 });
socket.addEventListener("online", (e) => console.error(`# online${e.reconnected ? ` again after ${e.attempt} attempt(s)` : ""}`));
socket.addEventListener("offline", (e) => console.error(`# offline (${e.code}); next attempt in ${e.retryIn} ms`));
socket.addEventListener("close", (e) => console.error(`# stopped: ${e.code} ${e.reason}`));

const topics = new TopicClient(socket);
topics.addEventListener("resumed", (e) => console.error(`# resumed #${room}: ${e.replayed} missed message(s)`));
topics.addEventListener("unrecoverable", (e) => console.error(`# some messages of #${room} are lost to us (${e.reason})`));
topics.addEventListener("error", (e) => console.error(`# error: ${e.code} ${e.message}`));

topics.subscribe(`room:${room}`, { last: 20 }, (msg) => {
  const time = new Date(msg.ts).toLocaleTimeString();
  console.log(`${time} ${msg.name}: ${msg.text}`);
});

process.on("SIGINT", () => topics.close(1000, "bye"));
