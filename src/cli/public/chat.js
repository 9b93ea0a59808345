// The wsx chat demo: the page's state and rendering. The connection lives in connection.js.
import { openConnection } from "/connection.js";
import { isNewOffset } from "/wsx/reconnect/browser.js";

const $ = (id) => document.getElementById(id);
const log = $("log"), status = $("status"), members = $("members"), memberList = $("member-list");
const nameInput = $("name"), roomInput = $("room"), text = $("text"), send = $("send");
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat";

/** The room we are in ({ room, name }), or null; kept across reconnects to rejoin. */
let joined = null;
/** Whether the connection is open now, and whether it has been lost since the page loaded. */
let online = false, wasOffline = false;
/** Texts sent and not yet seen back, oldest first (the server handles them in order). */
const unconfirmed = [];
/** Until when (ms) the server refuses our messages after a rate-limit notice: we hold them. */
let throttledUntil = 0;
/**
 * The offset of the last message shown, per room: a rejoin after a reconnect asks for what
 * came after it (`from`), and a replay that repeats what is shown is dropped.
 */
const lastOffset = new Map();
/**
 * When we last joined afresh (ms): older messages are the room's history, shown dimmed. A
 * rejoin from an offset replays what we missed, which is not history to us: 0 then.
 */
let joinSentAt = 0;

function sendJoin(room, name) {
  const from = lastOffset.get(room);
  joinSentAt = from === undefined ? Date.now() : 0;
  return connection.send(from === undefined ? { type: "join", room, name } : { type: "join", room, name, from });
}

nameInput.value = sessionStorage.getItem("wsx-name") || "guest" + Math.floor(Math.random() * 1000);

function line(cls, parts) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  for (const [c, t] of parts) {
    const span = document.createElement("span");
    if (c) span.className = c;
    span.textContent = t;
    li.appendChild(span);
  }
  log.appendChild(li);
  log.scrollTop = log.scrollHeight;
}
const system = (t, cls = "system") => line(cls, [["", t]]);
const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function showMembers(room, names) {
  members.textContent = names.length + (names.length === 1 ? " member" : " members") + " in #" + room;
  memberList.replaceChildren(
    ...names.map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      if (joined && n === joined.name) li.className = "me";
      return li;
    }),
  );
  memberList.classList.remove("stale");
}

function setOnline(on) {
  online = on;
  status.textContent = on ? "connected" : "offline, reconnecting…";
  status.className = "status " + (on ? "online" : "offline");
  text.disabled = send.disabled = !(on && joined);
  if (!on) unconfirmed.length = 0;
  if (!on && joined) {
    // What we knew about the room is out of date until we are back.
    members.textContent = "offline: members unknown";
    memberList.classList.add("stale");
  }
}

const connection = openConnection(url, {
  onOnline() {
    setOnline(true);
    if (wasOffline) system("back online" + (joined ? "; rejoining #" + joined.room : ""), "system net");
    // After a reconnect, rejoin the room we were in from the last message shown: the server
    // replays what was said meanwhile.
    if (joined) sendJoin(joined.room, joined.name);
  },
  onOffline() {
    if (online || !wasOffline) system("connection lost; reconnecting…", "system net");
    wasOffline = true;
    setOnline(false);
  },
  onClose(event) {
    setOnline(false);
    status.textContent = "disconnected";
    system("the server closed the connection (" + event.code + (event.reason ? ": " + event.reason : "") + "); reload the page to reconnect", "system warn");
  },
  onMessage(msg) {
    if (msg.type === "joined") {
      const rejoin = joined && joined.room === msg.room && joined.name === msg.name;
      joined = { room: msg.room, name: msg.name };
      if (!rejoin) system("joined #" + msg.room + " as " + msg.name);
      showMembers(msg.room, msg.names || []);
      text.placeholder = "Message #" + msg.room;
      setOnline(true);
      text.focus();
    } else if (msg.type === "message") {
      if (typeof msg.offset === "string") {
        // Seen already (a replay overlapping what is shown): drop it.
        if (!isNewOffset(msg.offset, lastOffset.get(msg.room) ?? null)) return;
        lastOffset.set(msg.room, msg.offset);
      }
      const mine = joined && msg.name === joined.name;
      const history = typeof msg.ts === "number" && msg.ts < joinSentAt;
      line((mine ? "me" : "") + (history ? " history" : ""), [["time", time(msg.ts)], ["who", msg.name], ["", msg.text]]);
      if (mine && unconfirmed[0] === msg.text) unconfirmed.shift();
    } else if (msg.type === "unrecoverable") {
      if (joined && msg.room === joined.room) system("some messages of #" + msg.room + " from while you were away are no longer kept and cannot be shown", "system gap");
    } else if (msg.type === "presence") {
      if (joined && msg.room === joined.room) system(msg.name + (msg.action === "join" ? " joined" : " left"));
    } else if (msg.type === "members") {
      if (joined && msg.room === joined.room) showMembers(msg.room, msg.names || []);
    } else if (msg.type === "error") {
      if (msg.code === "rate-limited") {
        // The server refuses the first message over the limit with this one notice and drops
        // the rest silently until the limit allows again: the refused text goes back in the
        // box, and nothing is sent until then.
        const refused = unconfirmed.splice(0, unconfirmed.length);
        if (refused.length > 0 && text.value === "") text.value = refused[0];
        throttledUntil = Date.now() + (msg.retryMs || 1000);
        const others = refused.length - 1;
        system("too fast: your message was not sent" + (others > 0 ? " (nor " + others + " after it)" : "") + "; it is back in the box, send it again in a moment", "system warn");
      } else {
        system("error: " + msg.text, "system warn");
      }
    }
  },
});

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("wsx-name", nameInput.value.trim());
  sendJoin(roomInput.value.trim(), nameInput.value.trim());
});
$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const t = text.value;
  if (!t.trim() || Date.now() < throttledUntil) return;
  if (connection.send({ type: "say", text: t })) {
    unconfirmed.push(t);
    text.value = "";
  }
});
