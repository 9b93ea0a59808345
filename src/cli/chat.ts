/**
 * The chat rooms behind the demo page (`/chat`): a small JSON protocol over the browser's own
 * WebSocket. Each room is a durable topic `room:<name>` (its messages, with offsets and a
 * history: a page that reconnects says the last offset it has and gets what it missed; a new
 * member gets the last 50 messages) and an ephemeral topic `presence:<name>` (joins and
 * leaves). The protocol is documented in docs/CLI.md.
 *
 *   client → server  {"type":"join","room":"lobby","name":"ann","from"?:OFFSET}  {"type":"say","text":"hi"}
 *                    {"type":"leave"}
 *   server → client  {"type":"joined","room","name","members","names"}
 *                    {"type":"message","room","name","text","ts","offset"}
 *                    {"type":"unrecoverable","room"}
 *                    {"type":"presence","room","name","action":"join"|"leave"}
 *                    {"type":"members","room","count","names"}
 *                    {"type":"error","text"}  {"type":"error","code":"rate-limited","text","retryMs"}
 */
import type { HistoryStore } from "../server/history.js";
import { parseOffset } from "../server/offset.js";
import type { ServerHandlers } from "../server/options.js";
import type { ServerWebSocket } from "../server/server-websocket.js";
import type { WebSocketServer } from "../server/server.js";
import type { TopicsOptions } from "../server/topics-options.js";

/** Per-connection chat state (`ws.data`); `room` is "" until the first join. */
export interface ChatMember {
  room: string;
  name: string;
  /** Token bucket of the rate limit: messages still allowed, and when it was last refilled. */
  tokens: number;
  refilledAt: number;
  /** Over the rate limit since the last message let through: refusals after the first are silent. */
  throttled: boolean;
}

/** Input bounds of the chat protocol (also enforced by the page's form fields). */
export const CHAT_LIMITS = {
  /** Longest name, in characters. */
  name: 32,
  /** Longest room name, in characters. */
  room: 32,
  /** Longest message text, in characters. */
  text: 2000,
  /** Largest chat frame in bytes (the `/chat` endpoint's maxPayload). */
  frame: 16 * 1024,
  /** Messages allowed in a burst, and refilled per second. */
  burst: 10,
  perSecond: 5,
  /** Messages a member gets on joining without `from` (the room's recent history). */
  recent: 50,
} as const;

/** The durable topic of a room's messages. */
export const roomTopic = (room: string): string => `room:${room}`;
/** The ephemeral topic of a room's joins and leaves. */
const presenceTopic = (room: string): string => `presence:${room}`;

/**
 * The `topics` option of the chat server: rooms are durable; a chat connection gets each
 * message as `{"type":"message",…,"offset"}` and `{"type":"unrecoverable","room"}` when the
 * history cannot reach its `from`. wsx.topics.v1 clients may subscribe to `room:*` (read
 * only); SSE at `ssePath`.
 */
export function chatTopics(history: HistoryStore, ssePath?: string): TopicsOptions<ChatMember> {
  return {
    durable: (topic) => topic.startsWith("room:"),
    history,
    authorize: (_subject, action, topic) => action === "sub" && topic.startsWith("room:"),
    // The stored message is the chat event's JSON object: add its offset as a last member.
    format: (_topic, offset, data) => (data.endsWith("}") ? `${data.slice(0, -1)},"offset":"${offset}"}` : `{"type":"message","data":${data},"offset":"${offset}"}`),
    unrecoverable: (ws, e) => void ws.send(JSON.stringify({ type: "unrecoverable", room: e.topic.slice(5) })),
    subscribed: () => {},
    ...(ssePath !== undefined ? { sse: { path: ssePath } } : {}),
  };
}

const ROOM_RE = /^[\p{L}\p{N}_-]+$/u;
// Control characters (C0, DEL, C1) are not allowed in names; in text only \n and \t are.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/u;
const TEXT_CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;

/** A new member's state, for the `upgrade` hook. */
export function newChatMember(now: number = Date.now()): ChatMember {
  return { room: "", name: "", tokens: CHAT_LIMITS.burst, refilledAt: now, throttled: false };
}

/** The room name if `value` is a valid one, else null. */
export function validRoom(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const room = value.trim();
  return room.length >= 1 && [...room].length <= CHAT_LIMITS.room && ROOM_RE.test(room) ? room : null;
}

/** The member name if `value` is a valid one, else null. */
export function validName(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const name = value.trim();
  return name.length >= 1 && [...name].length <= CHAT_LIMITS.name && !CONTROL_RE.test(name) ? name : null;
}

/** Takes one message from the member's token bucket; false when over the rate limit. */
function allow(member: ChatMember, now: number): boolean {
  const refill = ((now - member.refilledAt) / 1000) * CHAT_LIMITS.perSecond;
  member.tokens = Math.min(CHAT_LIMITS.burst, member.tokens + refill);
  member.refilledAt = now;
  if (member.tokens < 1) return false;
  member.tokens -= 1;
  return true;
}

/**
 * Builds the chat handlers for a server whose `ws.data` is a {@link ChatMember}. Member counts
 * and names are those of this process, pushed to the room's local members whenever they
 * change; messages and presence go through `publish`, so they cross nodes with an adapter.
 * `now` is the clock of the rate limit (ms), replaceable in tests.
 */
export function chatHandlers(getServer: () => WebSocketServer<ChatMember>, now: () => number = Date.now): Required<Pick<ServerHandlers<ChatMember>, "message" | "close">> {
  const topic = roomTopic;
  // Local members per room, to push this node's count to them only.
  const local = new Map<string, Set<ServerWebSocket<ChatMember>>>();

  /** This node's members of `room`, by name (sorted; a name may appear twice). */
  const names = (room: string): string[] => [...(local.get(room) ?? [])].map((ws) => ws.data.name).sort((a, b) => a.localeCompare(b));
  const announce = (room: string): void => {
    const members = local.get(room);
    if (members === undefined) return;
    const count = getServer().subscriberCount(topic(room));
    const text = JSON.stringify({ type: "members", room, count, names: names(room) });
    for (const ws of members) ws.send(text);
  };
  // A joiner hears "joined" instead of its own presence (ws.publish skips the sender).
  const presence = (room: string, name: string, action: "join" | "leave", joiner?: ServerWebSocket<ChatMember>): void => {
    const text = JSON.stringify({ type: "presence", room, name, action });
    if (joiner !== undefined) joiner.publish(presenceTopic(room), text);
    else getServer().publish(presenceTopic(room), text);
  };
  const leave = (ws: ServerWebSocket<ChatMember>): void => {
    const { room, name } = ws.data;
    if (room === "") return;
    ws.unsubscribe(topic(room));
    ws.unsubscribe(presenceTopic(room));
    const members = local.get(room);
    members?.delete(ws);
    if (members !== undefined && members.size === 0) local.delete(room);
    ws.data.room = "";
    presence(room, name, "leave");
    announce(room);
  };
  const error = (ws: ServerWebSocket<ChatMember>, text: string): void => void ws.send(JSON.stringify({ type: "error", text }));

  return {
    message(ws, data, isBinary) {
      if (isBinary) return error(ws, "messages are JSON text");
      if (!allow(ws.data, now())) {
        // One notice per flood: further refusals until a message gets through are silent.
        if (ws.data.throttled) return;
        ws.data.throttled = true;
        const retryMs = Math.ceil(((1 - ws.data.tokens) / CHAT_LIMITS.perSecond) * 1000);
        const text = `slow down: at most ${CHAT_LIMITS.perSecond} messages per second; messages are dropped until then`;
        return void ws.send(JSON.stringify({ type: "error", code: "rate-limited", text, retryMs }));
      }
      ws.data.throttled = false;
      let msg: { type?: unknown; room?: unknown; name?: unknown; text?: unknown; from?: unknown };
      try {
        msg = JSON.parse(data.toString()) as typeof msg;
      } catch {
        return error(ws, "invalid JSON");
      }
      if (msg === null || typeof msg !== "object") return error(ws, "messages are JSON objects");
      switch (msg.type) {
        case "join": {
          const room = validRoom(msg.room);
          if (room === null) return error(ws, `room: 1-${CHAT_LIMITS.room} letters, digits, _ or -`);
          const name = validName(msg.name);
          if (name === null) return error(ws, `name: 1-${CHAT_LIMITS.name} characters, no control characters`);
          const from = msg.from === undefined || msg.from === null ? null : parseOffset(msg.from);
          if (from === null && msg.from !== undefined && msg.from !== null) return error(ws, 'from: an offset "<epoch>-<seq>" from a message of this room');
          const rejoin = ws.data.room === room;
          if (!rejoin) leave(ws);
          ws.data.name = name;
          ws.data.room = room;
          // The room's history since `from` (or its recent messages), then live ones. A rename
          // (joining the same room again) keeps the subscription as it is.
          if (rejoin && from !== null) ws.unsubscribe(topic(room));
          if (!rejoin || from !== null) ws.subscribe(topic(room), from !== null ? { from: msg.from as string } : { last: CHAT_LIMITS.recent });
          ws.subscribe(presenceTopic(room));
          let members = local.get(room);
          if (members === undefined) local.set(room, (members = new Set()));
          members.add(ws);
          ws.send(JSON.stringify({ type: "joined", room, name, members: getServer().subscriberCount(topic(room)), names: names(room) }));
          presence(room, name, "join", ws);
          announce(room);
          return;
        }
        case "leave":
          return leave(ws);
        case "say": {
          const { room, name } = ws.data;
          if (room === "") return error(ws, "join a room first");
          if (typeof msg.text !== "string") return error(ws, "text must be a string");
          const text = msg.text.replace(TEXT_CONTROL_RE, "");
          if (text.trim() === "") return;
          if ([...text].length > CHAT_LIMITS.text) return error(ws, `text: at most ${CHAT_LIMITS.text} characters`);
          // Everyone in the room, the sender included, sees the same message, in history order.
          getServer()
            .publishDurable(topic(room), { type: "message", room, name, text, ts: now() })
            .catch(() => error(ws, "your message could not be stored (history unavailable); try again"));
          return;
        }
        default:
          return error(ws, 'unknown message type (expected "join", "say" or "leave")');
      }
    },
    close(ws) {
      // The server has already removed the socket from its topics, so the count is current.
      const { room, name } = ws.data;
      if (room === "") return;
      const members = local.get(room);
      members?.delete(ws);
      if (members !== undefined && members.size === 0) local.delete(room);
      presence(room, name, "leave");
      announce(room);
    },
  };
}
