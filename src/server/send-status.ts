/** The outcome of `ServerWebSocket.send` and of one delivery of a publish. */
export const SendStatus = {
  /** Not sent: the connection is closing/closed, or over `maxBackpressure` with the "drop" policy. */
  Dropped: 0,
  /** Queued, and the connection's buffered bytes are within `maxBackpressure`. */
  Sent: 1,
  /** Queued, but buffered bytes now exceed `maxBackpressure`; wait for the `drain` handler. */
  Backpressure: 2,
} as const;

/** A value of {@link SendStatus}. */
export type SendStatusValue = (typeof SendStatus)[keyof typeof SendStatus];
