// The reconnecting client's rules, driven by hand: fake sockets the test opens and drops,
// fake timers the test fires, an injected random source and clock. No network, no waiting.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { backoffCeiling, backoffDelay } from "../../src/client/reconnect/backoff.js";
import type { OfflineEvent, OnlineEvent, ReconnectingCloseEvent, ReconnectingMessageEvent } from "../../src/client/reconnect/events.js";
import { isRetryableClose, ReconnectError, ReconnectingWebSocket, type ReconnectingWebSocketOptions } from "../../src/client/reconnect/reconnecting-websocket.js";
import { ReconnectingWebSocket as NodeReconnectingWebSocket } from "../../src/client/reconnect/node.js";
import { FakeTimers, fakeSockets, sequence } from "./reconnect-fakes.js";

/** A client on fakes, with every event it fires recorded in order. */
function harness(options: ReconnectingWebSocketOptions = {}) {
  const timers = new FakeTimers();
  const fakes = fakeSockets();
  let clock = 0;
  const events: Array<{ type: string; event: Event }> = [];
  const ws = new ReconnectingWebSocket("ws://example.test/feed", ["p1"], {
    createWebSocket: fakes.create,
    timers,
    random: () => 0.5,
    now: () => clock,
    initialDelay: 100,
    maxDelay: 1000,
    factor: 2,
    ...options,
  });
  for (const type of ["online", "offline", "close", "message"]) ws.addEventListener(type, (event) => events.push({ type, event }));
  return {
    ws,
    timers,
    fakes,
    events,
    types: () => events.map((e) => e.type),
    setClock: (ms: number) => void (clock = ms),
    /** The pending backoff delay (the only pending timer that is not a connect timeout). */
    backoff(): number {
      const pending = timers.pending();
      assert.equal(pending.length, 1, "one timer pending");
      return pending[0].ms;
    },
  };
}

test("backoff: full jitter under a ceiling that grows by the factor up to maxDelay", () => {
  const opts = { initialDelay: 100, maxDelay: 1000, factor: 2 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 60, 5000].map((n) => backoffCeiling(n, opts)), [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  assert.equal(backoffCeiling(0), 500, "default initialDelay");
  assert.equal(backoffCeiling(100), 30_000, "default maxDelay");
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, opts, () => 0.5)), [50, 100, 200, 400]);
  assert.equal(backoffDelay(3, opts, () => 0), 0, "full jitter reaches 0");
  assert.equal(backoffDelay(3, opts, () => 0.999999), 799, "and stays under the ceiling");
  // A random source outside [0, 1) is not trusted: no wait rather than a huge or NaN one.
  for (const bad of [1, -0.5, NaN, 7]) assert.equal(backoffDelay(2, opts, () => bad), 0);
});

test("reconnects on the jittered schedule; one offline per outage; online counts attempts; the backoff resets after resetAfter", () => {
  const h = harness({ random: sequence(0.5, 0.5, 0.5, 0.25, 0.5), resetAfter: 5000 });
  assert.equal(h.fakes.sockets.length, 1);
  assert.equal(h.fakes.last().url, "ws://example.test/feed");
  assert.deepEqual(h.fakes.last().protocols, ["p1"]);
  assert.equal(h.ws.readyState, ReconnectingWebSocket.CONNECTING);
  h.fakes.last().open("p1");
  assert.equal(h.ws.readyState, ReconnectingWebSocket.OPEN);
  assert.equal(h.ws.protocol, "p1");
  const first = h.events[0].event as OnlineEvent;
  assert.equal(first.type, "online");
  assert.equal(first.attempt, 1);
  assert.equal(first.reconnected, false);
  assert.equal(h.timers.pending().length, 0, "no timer while open");

  h.fakes.last().drop(1006);
  const offline = h.events[1].event as OfflineEvent;
  assert.equal(offline.type, "offline");
  assert.equal(offline.code, 1006);
  assert.equal(offline.retryIn, 50);
  assert.equal(h.ws.readyState, ReconnectingWebSocket.CONNECTING, "CONNECTING between attempts");
  const delays = [h.backoff()];
  // Two failed attempts: the delay doubles each time, and no second "offline".
  for (let i = 0; i < 2; i++) {
    h.timers.fireOnly();
    assert.equal(h.timers.pending()[0].ms, 10_000, "the attempt's connect timeout");
    h.fakes.last().drop(1006);
    delays.push(h.backoff());
  }
  assert.deepEqual(delays, [50, 100, 200]);
  h.timers.fireOnly();
  h.fakes.last().open();
  assert.deepEqual(h.types(), ["online", "offline", "online"]);
  const back = h.events[2].event as OnlineEvent;
  assert.equal(back.attempt, 3, "three attempts since the drop");
  assert.equal(back.reconnected, true);
  assert.equal(h.ws.connections, 2);

  // Dropped again at once (open less than resetAfter): the schedule goes on growing (0.25 × 800).
  h.fakes.last().drop(1001, "going away", true);
  assert.equal(h.backoff(), 200);
  h.timers.fireOnly();
  h.setClock(1000);
  h.fakes.last().open();
  // Open for resetAfter: the next outage starts from the first step again.
  h.setClock(6000);
  h.fakes.last().drop(1006);
  assert.equal(h.backoff(), 50);
  assert.equal(h.fakes.sockets.length, 5);
  h.ws.close();
  assert.equal(h.timers.pending().length, 0);
});

test("close codes: retried after transient ones, final after 1000, errors of ours, policy, TLS and application codes; shouldReconnect decides otherwise", () => {
  for (const code of [1001, 1005, 1006, 1011, 1012, 1013, 1014]) {
    assert.equal(isRetryableClose(code), true, `${code} is retried`);
    const h = harness();
    h.fakes.last().open();
    h.fakes.last().drop(code);
    assert.deepEqual(h.types(), ["online", "offline"], `${code}`);
    assert.equal(h.timers.pending().length, 1);
    h.ws.close();
  }
  for (const code of [1000, 1002, 1003, 1007, 1008, 1009, 1010, 1015, 3000, 4000, 4999]) {
    assert.equal(isRetryableClose(code), false, `${code} is final`);
    const h = harness();
    h.fakes.last().open();
    h.fakes.last().drop(code, "why", true);
    assert.deepEqual(h.types(), ["online", "close"], `${code}`);
    const close = h.events[1].event as ReconnectingCloseEvent;
    assert.deepEqual([close.code, close.reason, close.wasClean], [code, "why", true]);
    assert.equal(h.ws.readyState, ReconnectingWebSocket.CLOSED);
    assert.equal(h.timers.pending().length, 0, `no timer after ${code}`);
    assert.throws(() => h.ws.send("x"), (err: ReconnectError) => err instanceof ReconnectError && err.code === "closed");
  }
  // The application's own policy: retry its 4001, stop on 1006; a throwing policy stops.
  const seen: number[] = [];
  const h = harness({ shouldReconnect: (c) => (seen.push(c.code), c.code === 4001) });
  h.fakes.last().open();
  h.fakes.last().drop(4001);
  assert.deepEqual(h.types(), ["online", "offline"]);
  h.timers.fireOnly();
  h.fakes.last().drop(1006);
  assert.deepEqual(h.types(), ["online", "offline", "close"]);
  assert.deepEqual(seen, [4001, 1006]);
  const thrower = harness({
    shouldReconnect: () => {
      throw new Error("policy bug");
    },
  });
  thrower.fakes.last().drop(1006);
  assert.deepEqual(thrower.types(), ["close"]);
});

test("offline queue: bounded by messages and by bytes, a typed error past either; flushed in order after what online listeners send", () => {
  const h = harness({ maxQueuedMessages: 3, maxQueuedBytes: 10 });
  assert.equal(h.ws.send("abc"), false, "queued, not sent");
  assert.equal(h.ws.send("dé"), false); // 3 bytes of UTF-8
  assert.equal(h.ws.send(new Uint8Array(2)), false);
  assert.equal(h.ws.queuedMessages, 3);
  assert.equal(h.ws.bufferedAmount, 8);
  assert.throws(() => h.ws.send("z"), (err: ReconnectError) => err instanceof ReconnectError && err.code === "queue-full");
  h.ws.addEventListener("online", () => h.ws.send("resubscribe"));
  h.fakes.last().open();
  assert.deepEqual(h.fakes.last().sent.slice(0, 3), ["resubscribe", "abc", "dé"]);
  assert.equal(h.fakes.last().sent.length, 4);
  assert.equal(h.ws.queuedMessages, 0);
  assert.equal(h.ws.bufferedAmount, 0);
  assert.equal(h.ws.send("live"), true, "sent at once while open");
  // A socket in its closing handshake would discard a send: the message is queued instead.
  h.fakes.last().readyState = 2;
  assert.equal(h.ws.send("late"), false);
  h.fakes.last().drop(1006);
  h.timers.fireOnly();
  h.fakes.last().open();
  assert.deepEqual(h.fakes.last().sent, ["resubscribe", "late"]);
  h.ws.close();

  const bytes = harness({ maxQueuedMessages: 100, maxQueuedBytes: 10 });
  bytes.ws.send("0123456789");
  assert.throws(() => bytes.ws.send("€"), (err: ReconnectError) => err.code === "queue-full" && /10 bytes/.test(err.message));
  bytes.ws.close();
  assert.equal(bytes.ws.queuedMessages, 0, "close drops the queue");

  const failing = harness({ maxQueuedMessages: 0 });
  assert.throws(() => failing.ws.send("x"), (err: ReconnectError) => err.code === "offline");
  failing.ws.close();
});

test("close() stops for good whatever the state: no further attempt, no timer left, one close event", () => {
  // While waiting to retry.
  const waiting = harness();
  waiting.fakes.last().drop(1006);
  assert.equal(waiting.timers.pending().length, 1);
  waiting.ws.close(4000, "done");
  assert.equal(waiting.timers.pending().length, 0);
  assert.deepEqual(waiting.types(), ["offline", "close"]);
  assert.equal((waiting.events[1].event as ReconnectingCloseEvent).code, 4000);
  waiting.ws.close();
  assert.equal(waiting.types().length, 2, "a second close() does nothing");

  // While open: the socket's close handshake runs, then `close` fires; no reconnection.
  const open = harness();
  open.fakes.last().open();
  open.ws.close(1000, "bye");
  assert.deepEqual(open.fakes.last().closeCalls, [[1000, "bye"]]);
  assert.equal(open.ws.readyState, ReconnectingWebSocket.CLOSING);
  assert.deepEqual(open.types(), ["online"]);
  open.fakes.last().drop(1000, "bye", true);
  assert.deepEqual(open.types(), ["online", "close"]);
  assert.equal(open.fakes.sockets.length, 1);
  assert.equal(open.timers.pending().length, 0);

  // While connecting: the attempt is abandoned, its connect timeout cleared; an abnormal
  // close of that attempt is the end, not a reason to retry.
  const connecting = harness();
  connecting.ws.close();
  assert.equal(connecting.timers.pending().length, 0);
  connecting.fakes.last().drop(1006);
  assert.deepEqual(connecting.types(), ["close"]);
  assert.equal(connecting.fakes.sockets.length, 1);

  // A bad code is refused by the socket before anything changes.
  const bad = harness();
  bad.fakes.last().open();
  bad.fakes.last().close = () => {
    throw new RangeError("InvalidAccessError");
  };
  assert.throws(() => bad.ws.close(1006), RangeError);
  assert.equal(bad.ws.readyState, ReconnectingWebSocket.OPEN);
});

test("an attempt that does not open within connectTimeout is abandoned and retried; its late events are ignored", () => {
  const h = harness({ connectTimeout: 300 });
  const silent = h.fakes.last();
  assert.equal(h.timers.pending()[0].ms, 300);
  h.timers.fireOnly();
  assert.equal(silent.closeCalls.length, 1, "the silent attempt is closed");
  assert.deepEqual(h.types(), ["offline"]);
  assert.equal((h.events[0].event as OfflineEvent).reason, "connect timeout");
  silent.open();
  silent.receive("stale");
  assert.deepEqual(h.types(), ["offline"], "events of the abandoned socket are not ours");
  h.timers.fireOnly();
  h.fakes.last().open();
  h.fakes.last().receive("fresh");
  assert.deepEqual(h.types(), ["offline", "online", "message"]);
  assert.equal((h.events[2].event as ReconnectingMessageEvent).data, "fresh");
  h.ws.close();
});

test("maxRetries: gives up after that many consecutive failed attempts", () => {
  const h = harness({ maxRetries: 2 });
  h.fakes.last().drop(1006);
  h.timers.fireOnly();
  h.fakes.last().drop(1006);
  h.timers.fireOnly();
  h.fakes.last().drop(1006, "refused");
  assert.deepEqual(h.types(), ["offline", "close"]);
  assert.equal((h.events[1].event as ReconnectingCloseEvent).reason, "refused");
  assert.equal(h.fakes.sockets.length, 3);
  assert.equal(h.timers.pending().length, 0);
});

test("binaryType is set on every connection; a bad URL throws at construction; no global WebSocket is a clear TypeError", () => {
  const h = harness({ binaryType: "arraybuffer" });
  assert.equal(h.fakes.last().binaryType, "arraybuffer");
  h.ws.close();
  assert.throws(() => new NodeReconnectingWebSocket("not a url"), (err: Error) => err.name === "SyntaxError");
  const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  try {
    assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:1/"), /createWebSocket/);
  } finally {
    if (saved !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = saved;
  }
});

test("each connection's listeners are removed when it ends: 1,000 reconnections leave nothing attached to old sockets", () => {
  const h = harness({ random: () => 0 });
  for (let i = 0; i < 1000; i++) {
    h.fakes.last().open();
    h.fakes.last().drop(1006);
    h.timers.fireOnly();
  }
  const old = h.fakes.sockets.slice(0, -1);
  assert.equal(old.length, 1000);
  for (const s of old) for (const type of ["open", "message", "close"]) assert.equal(getEventListeners(s, type).length, 0);
  assert.equal(getEventListeners(h.fakes.last(), "close").length, 1);
  h.ws.close();
  assert.equal(getEventListeners(h.fakes.last(), "close").length, 1, "kept until its close event");
  h.fakes.last().drop(1005);
  assert.equal(getEventListeners(h.fakes.last(), "close").length, 0);
  assert.equal(h.timers.pending().length, 0);
});
