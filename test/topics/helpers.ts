/**
 * Shared pieces of the durable-topic tests: a topics server, and a wsx.topics.v1 client
 * (wsx's own WebSocket) that records every frame and answers "wait for" questions.
 */
import type { TestContext } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import type { WebSocketServerOptions } from "../../src/server/options.js";
import { waitUntil } from "../helpers/time.js";

/** A frame the server sent on wsx.topics.v1. */
export interface TopicFrame {
  op: string;
  topic?: string;
  offset?: string | null;
  data?: unknown;
  from?: string;
  reason?: string;
  id?: string;
  code?: string;
}

/** A server on 127.0.0.1:0 with `options`, closed when `t` ends. */
export async function topicsServer<T = undefined>(t: TestContext, options: WebSocketServerOptions<T>): Promise<{ wss: WebSocketServer<T>; url: string }> {
  const wss = new WebSocketServer<T>({ port: 0, host: "127.0.0.1", ...options });
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await wss.close();
  });
  await wss.ready();
  return { wss, url: `ws://127.0.0.1:${wss.port}/` };
}

/** A wsx.topics.v1 client. */
export class TopicsClient {
  readonly frames: TopicFrame[] = [];
  closed = false;
  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => this.frames.push(JSON.parse(String(e.data)) as TopicFrame));
    ws.addEventListener("close", () => (this.closed = true));
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Messages of `topic`, in arrival order. */
  messages(topic: string): TopicFrame[] {
    return this.frames.filter((f) => f.op === "msg" && f.topic === topic);
  }

  /** Waits for a frame matching `match`, counting from frame index `since`; returns it. */
  async next(match: (f: TopicFrame) => boolean, what: string, since = 0, timeoutMs = 10_000): Promise<TopicFrame> {
    let found: TopicFrame | undefined;
    await waitUntil(() => (found = this.frames.slice(since).find(match)) !== undefined, what, timeoutMs);
    return found!;
  }
}

/** Opens a wsx.topics.v1 connection to `url`, terminated when `t` ends. */
export function connectTopics(t: TestContext, url: string): Promise<TopicsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "wsx.topics.v1");
    t.after(() => {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
    });
    const client = new TopicsClient(ws);
    ws.addEventListener("open", () => {
      if (ws.protocol !== "wsx.topics.v1") reject(new Error(`protocol "${ws.protocol}" negotiated`));
      else resolve(client);
    });
    ws.addEventListener("error", () => reject(new Error("connection failed")));
  });
}

/** The seq of an offset. */
export function seqOf(offset: string | null | undefined): number {
  if (typeof offset !== "string") throw new Error(`no offset: ${String(offset)}`);
  return Number(offset.slice(offset.lastIndexOf("-") + 1));
}
