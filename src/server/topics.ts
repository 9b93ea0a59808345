/**
 * Topic subscriptions of one server: topic → subscribers, and each connection's own topic set
 * (so a closing connection leaves all its topics in one pass). The adapter hears about a
 * topic when its first local subscriber arrives and after its last one leaves.
 */
import type { PubSubAdapter } from "./adapter.js";
import type { ServerWebSocket } from "./server-websocket.js";

/** The subscription table of one server. */
export class TopicRegistry<T> {
  /** topic → local subscribers. */
  readonly subscribers = new Map<string, Set<ServerWebSocket<T>>>();
  private adapter: PubSubAdapter | null = null;

  /** Reports first-subscriber/last-unsubscriber events to `adapter`. */
  setAdapter(adapter: PubSubAdapter | null): void {
    this.adapter = adapter;
  }

  /** Adds `ws` to `topic`; false if it was already there. */
  subscribe(ws: ServerWebSocket<T>, topic: string): boolean {
    if (typeof topic !== "string") throw new TypeError("topic must be a string");
    const own = (ws.topicSet ??= new Set());
    if (own.has(topic)) return false;
    own.add(topic);
    let set = this.subscribers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(topic, set);
      this.adapter?.subscribe(topic);
    }
    set.add(ws);
    return true;
  }

  /** Removes `ws` from `topic`; false if it was not there. */
  unsubscribe(ws: ServerWebSocket<T>, topic: string): boolean {
    const own = ws.topicSet;
    if (own === null || !own.delete(topic)) return false;
    this.leave(ws, topic);
    return true;
  }

  /** Removes `ws` from every topic (the connection closed). */
  unsubscribeAll(ws: ServerWebSocket<T>): void {
    const own = ws.topicSet;
    if (own === null) return;
    ws.topicSet = null;
    for (const topic of own) this.leave(ws, topic);
  }

  /** Number of local subscribers of `topic`. */
  count(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  private leave(ws: ServerWebSocket<T>, topic: string): void {
    const set = this.subscribers.get(topic);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size === 0) {
      this.subscribers.delete(topic);
      this.adapter?.unsubscribe(topic);
    }
  }
}
