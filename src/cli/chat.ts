/**
 * The chat room behind the demo page (`/chat`). A tiny JSON protocol over the browser's own
 * WebSocket, rooms as topics:
 *
 *   client → server  {"type":"join","room":"lobby","name":"ann"}   {"type":"say","text":"hi"}
 *   server → client  {"type":"joined","room","name"}  {"type":"message","room","name","text","ts"}
 *                    {"type":"members","room","count"}  {"type":"error","text"}
 */
import type { ServerHandlers } from "../server/options.js";
import type { ServerWebSocket } from "../server/server-websocket.js";
import type { WebSocketServer } from "../server/server.js";

/** Per-connection chat state. */
export interface ChatMember {
  room: string;
  name: string;
}

const MAX_NAME = 32;
const MAX_ROOM = 32;
const MAX_TEXT = 2000;
const ROOM_RE = /^[\p{L}\p{N}_-]{1,32}$/u;

/** Builds the chat handlers for a server whose `ws.data` is a {@link ChatMember}. */
export function chatHandlers(getServer: () => WebSocketServer<ChatMember>): ServerHandlers<ChatMember> {
  const topic = (room: string): string => `room:${room}`;
  const announce = (room: string): void => {
    const wss = getServer();
    wss.publish(topic(room), JSON.stringify({ type: "members", room, count: wss.subscriberCount(topic(room)) }));
  };
  const error = (ws: ServerWebSocket<ChatMember>, text: string): void => void ws.send(JSON.stringify({ type: "error", text }));
  return {
    message(ws, data, isBinary) {
      if (isBinary || data.length > 4 * MAX_TEXT) return error(ws, "messages are JSON text");
      let msg: { type?: unknown; room?: unknown; name?: unknown; text?: unknown };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return error(ws, "invalid JSON");
      }
      if (msg.type === "join") {
        const room = typeof msg.room === "string" ? msg.room.trim().slice(0, MAX_ROOM) : "";
        const name = typeof msg.name === "string" ? msg.name.trim().slice(0, MAX_NAME) : "";
        if (!ROOM_RE.test(room)) return error(ws, "room: 1-32 letters, digits, _ or -");
        if (name.length === 0) return error(ws, "name required");
        const previous = ws.data.room;
        if (previous !== "" && previous !== room) {
          ws.unsubscribe(topic(previous));
          announce(previous);
        }
        ws.data = { room, name };
        ws.subscribe(topic(room));
        ws.send(JSON.stringify({ type: "joined", room, name }));
        announce(room);
      } else if (msg.type === "say") {
        if (ws.data.room === "") return error(ws, "join a room first");
        const text = typeof msg.text === "string" ? msg.text.slice(0, MAX_TEXT) : "";
        if (text.trim() === "") return;
        const { room, name } = ws.data;
        // Everyone in the room, the sender included, sees the same message.
        getServer().publish(topic(room), JSON.stringify({ type: "message", room, name, text, ts: Date.now() }));
      } else {
        error(ws, "unknown message type");
      }
    },
    close(ws) {
      if (ws.data.room !== "") announce(ws.data.room);
    },
  };
}
