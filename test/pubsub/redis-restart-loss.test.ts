// Loss accounting across a redis-server restart, with a real redis-server killed and started
// again. Redis pub/sub keeps nothing: what a node publishes while another node's subscribe
// connection is not yet back and resubscribed is dropped by Redis without a word. The receiving
// adapter must count every message it missed (sequence numbers per publisher and topic) and
// report it; the publishing adapter counts the publishes that failed while Redis was down.
//
// To make "the publisher is back before the subscriber" certain rather than likely, the
// subscribing adapter reaches Redis through a TCP relay (test/helpers/relay.ts) that holds new
// connections until released.
import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { test } from "node:test";
import { RedisAdapter, type RedisLostMessages, type RedisReconnected } from "../../src/redis/index.js";
import { skipUnless } from "../helpers/components.js";
import { startRedis } from "../helpers/redis.js";
import { startRelay } from "../helpers/relay.js";

const WAIT_MS = 15_000;

/**
 * The next `event` of `emitter` about `connection` (the adapter's `disconnected` and
 * `reconnected` events); rejects, naming it, if none comes within WAIT_MS.
 */
function nextEvent<T = unknown>(emitter: EventEmitter, event: string, connection?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      reject(new Error(`no "${event}" event${connection ? ` for the ${connection} connection` : ""} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const on = (value: T): void => {
      if (connection !== undefined && (value as { connection?: string }).connection !== connection) return;
      clearTimeout(timer);
      emitter.removeListener(event, on);
      resolve(value);
    };
    emitter.on(event, on);
  });
}


test("after a Redis restart, messages the subscriber missed are counted and reported", { skip: await skipUnless("redis-server") }, async (t) => {
  const redis = await startRedis({ t });
  const relay = await startRelay(redis.port);
  const publisher = new RedisAdapter({ url: redis.url, maxReconnectDelay: 50 });
  const subscriber = new RedisAdapter({ url: `redis://127.0.0.1:${relay.port}`, maxReconnectDelay: 50 });
  t.after(async () => {
    relay.release();
    await Promise.all([publisher.close(), subscriber.close()]);
    await relay.close();
  });
  for (const a of [publisher, subscriber]) a.on("error", () => {});
  await Promise.all([publisher.ready(), subscriber.ready()]);

  const received: string[] = [];
  let waitingFor: { text: string; resolve: () => void } | null = null;
  subscriber.attach((_topic, data) => {
    const text = data.toString();
    received.push(text);
    if (waitingFor !== null && waitingFor.text === text) waitingFor.resolve();
  });
  const arrival = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`"${text}" did not arrive within ${WAIT_MS} ms`)), WAIT_MS);
      waitingFor = { text, resolve: () => (clearTimeout(timer), resolve()) };
    });
  const lostEvents: RedisLostMessages[] = [];
  subscriber.on("lost", (e: RedisLostMessages) => lostEvents.push(e));
  const send = (from: number, count: number): void => {
    for (let i = from; i < from + count; i++) publisher.publish("t", Buffer.from(`m${i}`), false);
  };

  const subscribed = nextEvent(subscriber, "subscribed");
  subscriber.subscribe("t");
  await subscribed;

  // 1. Healthy: 100 messages, all delivered.
  const hundredth = arrival("m99");
  send(0, 100);
  await hundredth;

  // 2. Redis dies: both adapters notice; 50 publishes fail at the publisher.
  relay.hold();
  const down = Promise.all([nextEvent(publisher, "disconnected", "publish"), nextEvent(subscriber, "disconnected", "subscribe")]);
  await redis.kill();
  await down;
  send(100, 50);
  await publisher.settled();
  assert.equal(publisher.stats.failed, 50);

  // 3. Redis is back and the publisher with it, the subscriber not yet: Redis takes 70
  //    publishes and drops them (no one subscribes to the channel).
  const publisherBack = nextEvent<RedisReconnected>(publisher, "reconnected", "publish");
  await redis.restart();
  await publisherBack;
  send(150, 70);
  await publisher.settled();
  assert.equal(publisher.stats.published, 170);

  // 4. The subscriber comes back and resubscribes; the next message shows the gap.
  const subscriberBack = nextEvent<RedisReconnected>(subscriber, "reconnected", "subscribe");
  relay.release();
  const back = await subscriberBack;
  assert.equal(back.connection, "subscribe");
  assert.ok(back.downSince <= back.at);
  const last = arrival("m220");
  send(220, 1);
  await last;

  assert.equal(received.length, 101);
  assert.deepEqual(received.slice(-2), ["m99", "m220"]);
  assert.equal(subscriber.stats.received, 101);
  assert.equal(subscriber.stats.lost, 120, "50 failed at the publisher + 70 dropped by Redis");
  assert.deepEqual(lostEvents, [{ topic: "t", nodeId: publisher.nodeId.toString("hex"), count: 120 }]);
  // Every message is accounted for at the receiver.
  assert.equal(subscriber.stats.received + subscriber.stats.lost, 221);
});
