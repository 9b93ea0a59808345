/**
 * What the receiver reports ({@link ReceiverHandler}), its settings ({@link ReceiverOptions})
 * and the limits they default to.
 */
import type { ProtocolError } from "./errors.js";

/** What the receiver reports. Implemented by the connection. */
export interface ReceiverHandler {
  /** A complete data message. `compressed` when RSV1 was set (permessage-deflate, RFC 7692 §6.1). */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A ping (RFC 6455 §5.5.2). */
  onPing(data: Buffer): void;
  /** A pong (RFC 6455 §5.5.3). */
  onPong(data: Buffer): void;
  /** A close frame (RFC 6455 §5.5.1); code 1005 when it carried no status code. */
  onClose(code: number, reason: string): void;
  /** The peer broke the protocol; the connection must be failed with `error.closeCode`. */
  onProtocolError(error: ProtocolError): void;
  /**
   * With `streamMessages`: a piece of an uncompressed data message, unmasked, as it arrives
   * (`first` on the message's first piece, `fin` on its last, which may be empty). Text
   * pieces are UTF-8-checked up to here; a piece may end inside a UTF-8 sequence.
   */
  onMessageChunk?(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void;
}

/** Receiver settings. */
export interface ReceiverOptions {
  /** True on the server: frames must be masked (RFC 6455 §5.1). */
  isServer: boolean;
  /**
   * Largest message payload accepted, in bytes, as the application receives it; larger gives
   * 1009. A compressed message may take {@link compressedLimit}(maxPayload) bytes on the wire
   * (its inflated size is bounded by the codec).
   */
  maxPayload: number;
  /** Most frames one data message may arrive in; more gives 1008. Default {@link DEFAULT_MAX_FRAGMENTS}. */
  maxFragments?: number;
  /** Whether an extension that uses RSV1 (permessage-deflate) was negotiated. */
  allowRsv1?: boolean;
  /**
   * Surface uncompressed data messages piece by piece (`onMessageChunk`) instead of
   * collecting them: memory per message is one network chunk, `maxPayload` still bounds
   * the whole message. Compressed messages are still delivered whole. Default false.
   */
  streamMessages?: boolean;
}

/**
 * Default fragment limit per message: 131,072 (2^17). A 16 MiB message in 128-byte fragments
 * fits; a flood of tiny or empty continuation frames (a CVE class in ws, undici and
 * socket.io-parser) is cut off early.
 */
export const DEFAULT_MAX_FRAGMENTS = 131_072;

/**
 * Most bytes a compressed message may take on the wire for a `maxPayload` limit on its inflated
 * size: deflate output can exceed its input (stored blocks), by at most zlib's `deflateBound`
 * (n + n/4096 + n/16384 + 13); n + n/1024 + 1 KiB covers it with room to spare.
 */
export function compressedLimit(maxPayload: number): number {
  const limit = maxPayload + Math.floor(maxPayload / 1024) + 1024;
  return limit > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : limit;
}
