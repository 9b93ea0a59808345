// The wsx chat demo: plain browser JavaScript using the browser's own WebSocket.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const log = $("log"), status = $("status"), members = $("members");
  const nameInput = $("name"), roomInput = $("room"), text = $("text"), send = $("send");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat";
  let ws = null, joined = null, retry = 0, me = "";

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
  const system = (t) => line("system", [["", t]]);
  const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function showMembers(room, count) {
    members.textContent = count + (count === 1 ? " member" : " members") + " in #" + room;
  }

  function setOnline(on) {
    status.textContent = on ? "connected" : "offline, reconnecting…";
    status.className = "status " + (on ? "online" : "offline");
    text.disabled = send.disabled = !(on && joined);
  }

  function connect() {
    ws = new WebSocket(url);
    ws.onopen = () => {
      retry = 0;
      setOnline(true);
      // After a reconnect (server restart), rejoin the room we were in.
      if (joined) ws.send(JSON.stringify({ type: "join", room: joined.room, name: joined.name }));
    };
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg.type === "joined") {
        joined = { room: msg.room, name: msg.name };
        me = msg.name;
        system("joined #" + msg.room + " as " + msg.name);
        showMembers(msg.room, msg.members);
        text.placeholder = "Message #" + msg.room;
        setOnline(true);
        text.focus();
      } else if (msg.type === "message") {
        line(msg.name === me ? "me" : "", [["time", time(msg.ts)], ["who", msg.name], ["", msg.text]]);
      } else if (msg.type === "presence") {
        if (joined && msg.room === joined.room) system(msg.name + (msg.action === "join" ? " joined" : " left"));
      } else if (msg.type === "members") {
        if (joined && msg.room === joined.room) showMembers(msg.room, msg.count);
      } else if (msg.type === "error") {
        system("error: " + msg.text);
      }
    };
    ws.onclose = () => {
      setOnline(false);
      // Reconnect with capped exponential backoff and jitter.
      const delay = Math.min(10000, 250 * 2 ** retry++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  $("join").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("wsx-name", nameInput.value.trim());
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "join", room: roomInput.value.trim(), name: nameInput.value.trim() }));
  });
  $("say").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = text.value;
    if (!t.trim() || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "say", text: t }));
    text.value = "";
  });
  connect();
})();
