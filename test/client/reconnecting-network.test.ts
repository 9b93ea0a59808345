// wsx's ReconnectingWebSocket over real sockets: a connection reset by the server is
// reopened, what was sent meanwhile arrives after it, a server going away with 1001 is
// followed, a policy close (1008) is final, and after close() nothing keeps the process alive.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OfflineEvent, OnlineEvent, ReconnectingCloseEvent, ReconnectingMessageEvent } from "../../src/client/reconnect/events.js";
import { ReconnectingWebSocket } from "../../src/client/reconnect/node.js";
import type { ReconnectTimers } from "../../src/client/reconnect/reconnecting-websocket.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { freePort } from "../helpers/ports.js";
import { spawnChild } from "../helpers/process.js";
import { waitUntil, within } from "../helpers/time.js";
import { ROOT } from "../cli/wsx.js";

function next<E extends Event>(target: EventTarget, type: string): Promise<E> {
  return within(new Promise<E>((resolve) => target.addEventListener(type, (e) => resolve(e as E), { once: true })), `"${type}"`, 10_000);
}

/** The real timers, counting those set and not yet fired or cleared. */
function countingTimers(): ReconnectTimers & { outstanding: Set<unknown> } {
  const outstanding = new Set<unknown>();
  return {
    outstanding,
    setTimeout(callback, ms) {
      const handle = setTimeout(() => {
        outstanding.delete(handle);
        callback();
      }, ms);
      outstanding.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      outstanding.delete(handle);
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}

test("reset by the server: reconnects, delivers what was sent while offline in order, follows a 1001 restart; close() leaves no timer", async (t) => {
  const server = await startEchoServer(t);
  const timers = countingTimers();
  const ws = new ReconnectingWebSocket(server.url, [], { initialDelay: 20, timers });
  t.after(() => ws.close());
  const echoes: unknown[] = [];
  ws.addEventListener("message", (e) => echoes.push((e as ReconnectingMessageEvent).data));
  const first = await next<OnlineEvent>(ws, "online");
  assert.equal(first.reconnected, false);
  const echoed = next(ws, "message");
  ws.send("one");
  await echoed;

  const offline = next<OfflineEvent>(ws, "offline");
  for (const client of server.wss.clients) client.terminate();
  assert.equal((await offline).code, 1006);
  // Queued while offline, sent on the next connection in order.
  assert.equal(ws.send("two"), false);
  assert.equal(ws.send("three"), false);
  const back = await next<OnlineEvent>(ws, "online");
  assert.equal(back.reconnected, true);
  await waitUntil(() => echoes.length === 3, "the echoes");
  assert.deepEqual(echoes.map(String), ["one", "two", "three"]);

  // A server shutting down says 1001: the client follows it back.
  const offline2 = next<OfflineEvent>(ws, "offline");
  for (const client of server.wss.clients) client.close(1001, "restarting");
  const gone = await offline2;
  assert.deepEqual([gone.code, gone.reason, gone.wasClean], [1001, "restarting", true]);
  await next(ws, "online");
  assert.equal(ws.connections, 3);

  const closed = next<ReconnectingCloseEvent>(ws, "close");
  ws.close(1000, "done");
  const c = await closed;
  assert.deepEqual([c.code, c.wasClean], [1000, true]);
  assert.equal(timers.outstanding.size, 0, "no timer left");
  await waitUntil(() => server.closes.length === 3, "the server to see the third close");
  assert.deepEqual(server.closes.map((c) => c.code), [1006, 1001, 1000]);
});

test("a policy-violation close (1008) is final: no reconnection", async (t) => {
  const server = await startEchoServer(t, { open: (ws) => void ws.close(1008, "not allowed") });
  const timers = countingTimers();
  const ws = new ReconnectingWebSocket(server.url, [], { initialDelay: 10, timers });
  const events: string[] = [];
  for (const type of ["online", "offline"]) ws.addEventListener(type, () => events.push(type));
  const closed = await next<ReconnectingCloseEvent>(ws, "close");
  assert.deepEqual([closed.code, closed.reason], [1008, "not allowed"]);
  assert.deepEqual(events, ["online"]);
  assert.equal(server.opens(), 1);
  assert.equal(timers.outstanding.size, 0);
});

test("the process exits on its own after close(): while retrying against a closed port, and while open", async (t) => {
  const server = await startEchoServer(t);
  const port = await freePort();
  // Retrying (nothing listens on `port`) until the first offline, then close(); and a second
  // client connected to the echo server, closed once online. Nothing else holds the loop.
  const script = `
    import { ReconnectingWebSocket } from ${JSON.stringify(new URL("dist/index.js", `file://${ROOT}/`).href)};
    const retrying = new ReconnectingWebSocket("ws://127.0.0.1:${port}/", [], { initialDelay: 50 });
    retrying.addEventListener("offline", () => retrying.close());
    retrying.addEventListener("close", () => console.log("retrying closed"));
    const open = new ReconnectingWebSocket(${JSON.stringify(server.url)});
    open.addEventListener("online", () => open.close());
    open.addEventListener("close", (e) => console.log("open closed " + e.code));
  `;
  const child = spawnChild(process.execPath, ["--input-type=module", "-e", script], { t, name: "reconnecting client" });
  const exit = await child.exited(15_000);
  assert.equal(exit.code, 0, child.stderr());
  assert.match(child.stdout(), /retrying closed/);
  assert.match(child.stdout(), /open closed 1005/);
});
