// Type test of the reconnecting client and the topic client: `addEventListener` gives each
// known event type its class, as the DOM does for WebSocket. tsc compiling this file is the
// test; `@ts-expect-error` lines fail the build if they ever start to compile.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OfflineEvent, OnlineEvent, ReconnectingCloseEvent, ReconnectingMessageEvent, TopicErrorEvent, TopicResumedEvent, TopicUnrecoverableEvent } from "../../src/client/reconnect/events.js";
import { ReconnectingWebSocket, TopicClient } from "../../src/index.js";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// Compile-time checks only: never called.
function typeChecks(ws: ReconnectingWebSocket, topics: TopicClient): void {
  ws.addEventListener("online", (e) => assertType<Equals<typeof e, OnlineEvent>>());
  ws.addEventListener("offline", (e) => assertType<Equals<typeof e, OfflineEvent>>());
  ws.addEventListener("message", (e) => assertType<Equals<typeof e, ReconnectingMessageEvent>>());
  ws.addEventListener("close", function (e) {
    assertType<Equals<typeof e, ReconnectingCloseEvent>>();
    assertType<Equals<typeof this, ReconnectingWebSocket>>();
  });
  ws.addEventListener("online", (e) => {
    const n: number = e.attempt;
    // @ts-expect-error an OnlineEvent has no code
    void e.code;
    void n;
  });
  ws.addEventListener("custom", (e: Event) => void e.type, { once: true });
  topics.addEventListener("resumed", (e) => assertType<Equals<typeof e, TopicResumedEvent>>());
  topics.addEventListener("unrecoverable", (e) => assertType<Equals<typeof e, TopicUnrecoverableEvent>>());
  topics.addEventListener("error", (e) => assertType<Equals<typeof e, TopicErrorEvent>>());
  // @ts-expect-error publish needs data
  void topics.publish("t");
  const sub = topics.subscribe("t", { last: 3 }, (data, offset, topic) => {
    assertType<Equals<typeof data, unknown>>();
    assertType<Equals<typeof offset, string | null>>();
    assertType<Equals<typeof topic, string>>();
  });
  assertType<Equals<typeof sub.ready, Promise<void>>>();
}

test("the type checks compile (the runtime part: nothing to run)", () => {
  assert.equal(typeof typeChecks, "function");
});
