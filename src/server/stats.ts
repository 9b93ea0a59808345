/**
 * Operational counters of a {@link WebSocketServer}: what `wss.stats()` returns. The hot path
 * only increments plain integer fields of one fixed-shape object per server
 * ({@link StatsCounters}); everything derived (wire bytes of open sockets, the compression
 * ratio, the adapter's failures) is computed when a snapshot is asked for.
 */

/**
 * Why a handshake was refused, as counted in {@link ServerStats.handshakesRejected}:
 *
 * - `invalid`: not a valid RFC 6455 §4.2.1 opening handshake (400, 405, 426).
 * - `headers`: more request headers than `maxHeaderCount` (431).
 * - `origin`: the `Origin` is not in `origins` (403, RFC 6455 §10.2).
 * - `capacity`: `maxConnections` or `maxPendingHandshakes` reached (503).
 * - `timeout`: the `upgrade` hook did not settle within `handshakeTimeout` (408).
 * - `hook`: the `upgrade` hook threw or rejected with a `HandshakeError` (its status).
 * - `error`: the `upgrade` hook failed with another error (500).
 * - `shutdown`: the server is closing (503).
 */
export type HandshakeRejection = "invalid" | "headers" | "origin" | "capacity" | "timeout" | "hook" | "error" | "shutdown";

/** Every {@link HandshakeRejection}, in a fixed order (for exposition). */
export const HANDSHAKE_REJECTIONS: readonly HandshakeRejection[] = ["invalid", "headers", "origin", "capacity", "timeout", "hook", "error", "shutdown"];

/** A snapshot of a server's counters. Counters count since the server was created. */
export interface ServerStats {
  /** Connections open now (a gauge). */
  connections: number;
  /** Opening handshakes accepted (connections opened). */
  handshakesAccepted: number;
  /** Opening handshakes refused, by reason. */
  handshakesRejected: Record<HandshakeRejection, number>;
  /** Messages received (after reassembly and decompression). */
  messagesIn: number;
  /** Payload bytes of the messages received (after decompression). */
  bytesIn: number;
  /** Messages queued to a connection: `send` calls that were not dropped, plus publish deliveries. */
  messagesOut: number;
  /** Payload bytes of `messagesOut` (before compression). */
  bytesOut: number;
  /**
   * Bytes read from the sockets of accepted connections (handshake and frames, compressed).
   * For WebSockets over HTTP/2, the DATA payload of their streams (the frames; HTTP/2 framing
   * and headers belong to the shared connection).
   */
  wireBytesIn: number;
  /** Bytes written to the sockets of accepted connections (for HTTP/2: as {@link wireBytesIn}). */
  wireBytesOut: number;
  /**
   * Payload bytes per wire byte on connections that negotiated permessage-deflate, both
   * directions: 2 means compression halved the traffic; 1 when no such connection carried
   * anything. Frame headers and the handshake count as wire bytes, so it errs low.
   */
  compressionRatio: number;
  /** Messages not queued because the connection was over `maxBackpressure` (sends and publishes). */
  droppedMessages: number;
  /** `publish` calls (local and `ws.publish`; remote deliveries from the adapter not included). */
  publishes: number;
  /** Messages queued to subscribers by publishes, local or from other nodes through the adapter. */
  fanoutDeliveries: number;
  /** Messages the adapter failed to carry to other nodes (its `stats.failed`; 0 without one). */
  adapterFailures: number;
  /** Durable topics (option `topics`; all 0 without it). */
  durable: DurableStats;
}

/** The durable-topic part of {@link ServerStats} (docs/TOPICS.md). */
export interface DurableStats {
  /** Subscriptions open now on this node, WebSockets and SSE streams (a gauge). */
  subscriptions: number;
  /** SSE streams open now (a gauge). */
  sseStreams: number;
  /** Messages appended to the history through this node. */
  appended: number;
  /** Messages queued to subscribers on this node, replayed and live. */
  delivered: number;
  /** `unrecoverable` signals given to subscribers (messages they could not get back). */
  unrecoverable: number;
}

/** {@link DurableStats} of a server without durable topics. */
export const NO_DURABLE_STATS: DurableStats = Object.freeze({ subscriptions: 0, sseStreams: 0, appended: 0, delivered: 0, unrecoverable: 0 });

/**
 * @internal The live counters of one server. Plain numeric fields, incremented in place;
 * `deflate*` fields cover only connections with permessage-deflate.
 */
export class StatsCounters {
  handshakesAccepted = 0;
  rejectedInvalid = 0;
  rejectedHeaders = 0;
  rejectedOrigin = 0;
  rejectedCapacity = 0;
  rejectedTimeout = 0;
  rejectedHook = 0;
  rejectedError = 0;
  rejectedShutdown = 0;
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  deflateBytesIn = 0;
  deflateBytesOut = 0;
  publishes = 0;
  fanoutDeliveries = 0;
  /** Wire bytes of connections already closed (open ones are read from their sockets). */
  closedWireIn = 0;
  closedWireOut = 0;
  closedDeflateWire = 0;

  /** Counts one refused handshake. */
  rejected(reason: HandshakeRejection): void {
    switch (reason) {
      case "invalid":
        this.rejectedInvalid++;
        break;
      case "headers":
        this.rejectedHeaders++;
        break;
      case "origin":
        this.rejectedOrigin++;
        break;
      case "capacity":
        this.rejectedCapacity++;
        break;
      case "timeout":
        this.rejectedTimeout++;
        break;
      case "hook":
        this.rejectedHook++;
        break;
      case "error":
        this.rejectedError++;
        break;
      case "shutdown":
        this.rejectedShutdown++;
        break;
    }
  }

  /** Adds a closed connection's socket byte counts to the totals. */
  socketClosed(socket: unknown, deflate: boolean): void {
    const read = wireRead(socket);
    const written = wireWritten(socket);
    this.closedWireIn += read;
    this.closedWireOut += written;
    if (deflate) this.closedDeflateWire += read + written;
  }
}

/** Bytes a socket has read (0 for a Duplex that does not count them). */
export function wireRead(socket: unknown): number {
  const n = (socket as { bytesRead?: unknown }).bytesRead;
  return typeof n === "number" ? n : 0;
}

/** Bytes a socket has written (0 for a Duplex that does not count them). */
export function wireWritten(socket: unknown): number {
  const n = (socket as { bytesWritten?: unknown }).bytesWritten;
  return typeof n === "number" ? n : 0;
}

/** What a snapshot needs to know about one open connection. */
export interface OpenConnection {
  socket: unknown;
  deflate: boolean;
}

/** @internal Builds a {@link ServerStats} snapshot from the counters and the open connections. */
export function snapshot(c: StatsCounters, open: Iterable<OpenConnection>, droppedMessages: number, adapterFailures: number, durable: DurableStats = NO_DURABLE_STATS): ServerStats {
  let connections = 0;
  let wireIn = c.closedWireIn;
  let wireOut = c.closedWireOut;
  let deflateWire = c.closedDeflateWire;
  for (const conn of open) {
    connections++;
    const read = wireRead(conn.socket);
    const written = wireWritten(conn.socket);
    wireIn += read;
    wireOut += written;
    if (conn.deflate) deflateWire += read + written;
  }
  const deflatePayload = c.deflateBytesIn + c.deflateBytesOut;
  return {
    connections,
    handshakesAccepted: c.handshakesAccepted,
    handshakesRejected: {
      invalid: c.rejectedInvalid,
      headers: c.rejectedHeaders,
      origin: c.rejectedOrigin,
      capacity: c.rejectedCapacity,
      timeout: c.rejectedTimeout,
      hook: c.rejectedHook,
      error: c.rejectedError,
      shutdown: c.rejectedShutdown,
    },
    messagesIn: c.messagesIn,
    bytesIn: c.bytesIn,
    messagesOut: c.messagesOut,
    bytesOut: c.bytesOut,
    wireBytesIn: wireIn,
    wireBytesOut: wireOut,
    compressionRatio: deflatePayload > 0 && deflateWire > 0 ? deflatePayload / deflateWire : 1,
    droppedMessages,
    publishes: c.publishes,
    fanoutDeliveries: c.fanoutDeliveries,
    adapterFailures,
    durable: { ...durable },
  };
}
