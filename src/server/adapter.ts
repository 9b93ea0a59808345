/**
 * The scale-out seam of pub/sub: an adapter carries published messages between server
 * processes. The default is in-memory (no adapter): publishes reach this process only.
 */

/** Delivers a message that another node published to this node's local subscribers. */
export type RemoteDelivery = (topic: string, data: Buffer, isBinary: boolean) => void;

/**
 * A pub/sub adapter (e.g. `RedisAdapter` from `wsx/redis`). The server calls it; the adapter
 * never touches sockets.
 */
export interface PubSubAdapter {
  /** Called once by the server it is given to; `deliver` hands remote messages to local subscribers. */
  attach(deliver: RemoteDelivery): void;
  /** A message was published on this node: send it to the other nodes (not back to us). */
  publish(topic: string, data: Buffer, isBinary: boolean): void;
  /** This node got its first local subscriber of `topic`. */
  subscribe(topic: string): void;
  /** This node's last local subscriber of `topic` left. */
  unsubscribe(topic: string): void;
  /** Optional counters; `failed` (messages not carried to other nodes) shows in `server.stats()`. */
  readonly stats?: { readonly failed: number };
  /** Releases connections; called by `server.close()`. */
  close(): Promise<void>;
}
