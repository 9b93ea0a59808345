/**
 * A server WebSocket's peer address and its rarely used and small state, kept small for idle
 * connections (on Node 20 every field costs 8 bytes): the port, the HTTP version and two
 * topic settings packed in one number; the subprotocol, extensions, topic, streaming and drain
 * state in one object allocated on first use. {@link ServerWebSocket} extends it; every
 * accessor reads like the plain field it replaces.
 */
import type { Subscription } from "./durable-topics.js";
import type { MessageStream } from "./message-stream.js";

/** The packed and on-demand state of a {@link ServerWebSocket}. */
export abstract class ServerWebSocketState {
  /**
   * The peer's IP address (`"127.0.0.1"`, `"::1"` …), read once when the connection was
   * accepted, so it stays available in the `close` handler after the socket is gone (over
   * HTTP/2: the connection's socket). "" when the stream given to `handleUpgrade` is not a socket.
   */
  readonly remoteAddress: string;

  /**
   * The small per-connection values packed in one number (one field instead of four: an idle
   * connection's size): the peer's port, the HTTP version, wsx.topics.v1, the publish window bits.
   */
  protected bits: number;
  /** The negotiated subprotocol and extensions, topic, streaming and drain state: allocated when one is there. */
  protected extras: ServerWebSocketExtras | null = null;

  constructor(protocol: string, extensions: string, peerSource: object, httpVersion: string) {
    if (protocol !== "" || extensions !== "") {
      const x = this.more();
      x.protocol = protocol;
      x.extensions = extensions;
    }
    // A net.Socket forgets its peer once destroyed: ask now (one getpeername call), keep the
    // address and the port (the family follows from the address).
    const peer = peerSource as { remoteAddress?: string; remotePort?: number };
    this.remoteAddress = sharedAddress(peer.remoteAddress ?? "");
    this.bits = ((peer.remotePort ?? 0) & PORT_MASK) | (httpVersion === "2.0" ? HTTP2 : 0);
  }

  /** The negotiated subprotocol, or "". */
  get protocol(): string {
    return this.extras === null ? "" : this.extras.protocol;
  }

  /** The negotiated extensions (the `Sec-WebSocket-Extensions` response value), or "". */
  get extensions(): string {
    return this.extras === null ? "" : this.extras.extensions;
  }

  /** The peer's port, read when the connection was accepted; 0 when unknown. */
  get remotePort(): number {
    return this.bits & PORT_MASK;
  }

  /** `"IPv4"` or `"IPv6"`, from the address read when the connection was accepted; "" when unknown. */
  get remoteFamily(): string {
    const a = this.remoteAddress;
    return a === "" ? "" : a.includes(":") ? "IPv6" : "IPv4";
  }

  /** What carries this WebSocket: "1.1" (an upgraded connection) or "2.0" (an RFC 8441 stream). */
  get httpVersion(): string {
    return (this.bits & HTTP2) !== 0 ? "2.0" : "1.1";
  }

  /** @internal this connection speaks wsx.topics.v1 (its frames go to the topics protocol) */
  get topicsV1(): boolean {
    return (this.bits & TOPICS_V1) !== 0;
  }
  set topicsV1(v: boolean) {
    this.bits = v ? this.bits | TOPICS_V1 : this.bits & ~TOPICS_V1;
  }

  /**
   * @internal server-to-client window bits when this connection can take a shared compressed
   * publish frame (permessage-deflate without server context takeover), else 0
   */
  get publishWindowBits(): number {
    return (this.bits >>> WINDOW_SHIFT) & 15;
  }
  set publishWindowBits(v: number) {
    this.bits = (this.bits & ~(15 << WINDOW_SHIFT)) | ((v & 15) << WINDOW_SHIFT);
  }

  /** @internal topics this connection subscribes to */
  get topicSet(): Set<string> | null {
    return this.extras === null ? null : this.extras.topicSet;
  }
  set topicSet(v: Set<string> | null) {
    if (v !== null || this.extras !== null) this.more().topicSet = v;
  }

  /** @internal the message being received as a stream (`messageStream` handler) */
  get currentMessage(): MessageStream | null {
    return this.extras === null ? null : this.extras.currentMessage;
  }
  set currentMessage(v: MessageStream | null) {
    if (v !== null || this.extras !== null) this.more().currentMessage = v;
  }

  /** @internal streamed sends waiting for the socket's drain */
  get drainWaiters(): Array<() => void> | null {
    return this.extras === null ? null : this.extras.drainWaiters;
  }
  set drainWaiters(v: Array<() => void> | null) {
    if (v !== null || this.extras !== null) this.more().drainWaiters = v;
  }

  /** @internal durable subscriptions by topic */
  get durableSubs(): Map<string, Subscription> | null {
    return this.extras === null ? null : this.extras.durableSubs;
  }
  set durableSubs(v: Map<string, Subscription> | null) {
    if (v !== null || this.extras !== null) this.more().durableSubs = v;
  }

  /** @internal topic operations waiting on an asynchronous `authorize`, in order */
  get topicOps(): Promise<void> | null {
    return this.extras === null ? null : this.extras.topicOps;
  }
  set topicOps(v: Promise<void> | null) {
    if (v !== null || this.extras !== null) this.more().topicOps = v;
  }

  /** @internal how many */
  get topicOpsPending(): number {
    return this.extras === null ? 0 : this.extras.topicOpsPending;
  }
  set topicOpsPending(v: number) {
    if (v !== 0 || this.extras !== null) this.more().topicOpsPending = v;
  }

  protected more(): ServerWebSocketExtras {
    return (this.extras ??= new ServerWebSocketExtras());
  }
}

/** The state few connections need (a subprotocol, an extension, topics, streamed messages, drain waits): kept apart. */
class ServerWebSocketExtras {
  protocol = "";
  extensions = "";
  topicSet: Set<string> | null = null;
  currentMessage: MessageStream | null = null;
  drainWaiters: Array<() => void> | null = null;
  durableSubs: Map<string, Subscription> | null = null;
  topicOps: Promise<void> | null = null;
  topicOpsPending = 0;
}

// ServerWebSocket.bits: the port (16 bits), then flags and the publish window bits.
const PORT_MASK = 0xffff;
const HTTP2 = 1 << 16;
const TOPICS_V1 = 1 << 17;
const WINDOW_SHIFT = 18;

/**
 * The previous connection's address string when this one's is equal: connections from one
 * peer (a proxy, a load balancer, a NAT) share one string instead of holding a copy each.
 */
let lastAddress = "";
function sharedAddress(address: string): string {
  if (address === lastAddress) return lastAddress;
  lastAddress = address;
  return address;
}

