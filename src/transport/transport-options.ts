/**
 * What a `Transport` (transport.ts) talks to: the owner it reports to (the API object above
 * it), the compression codec it drives (permessage-deflate, RFC 7692), and its settings, with
 * the protocol connection settings derived from them once per settings object.
 */
import type { ConnectionOptions } from "../protocol/connection.js";
import type { ProtocolError } from "../protocol/errors.js";
import type { MaskSource } from "../protocol/output-queue.js";

/** What a transport reports to the API object on top of it (server socket or client). */
export interface TransportOwner {
  /** A complete (and, if compressed, inflated and validated) data message. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping arrived (already answered when autoPong is on). */
  onPing(data: Buffer): void;
  /** A pong arrived. */
  onPong(data: Buffer): void;
  /** The peer's close frame arrived (the close handshake is under way). */
  onCloseFrame(code: number, reason: string): void;
  /** The socket's write buffer emptied after a write had to wait. */
  onDrain(): void;
  /**
   * Something went wrong; `onClosed` follows. `failed` is true when the connection was failed
   * (RFC 6455 §7.1.7: a protocol violation, a codec failure), false for an error of the socket
   * or an idle timeout (an abnormal closure, 1006).
   */
  onError(error: Error, failed: boolean): void;
  /**
   * A handler of the owner threw `error` (it never unwinds into the parser or the codec): the
   * transport has stopped delivering events and is closing the connection with 1011.
   */
  onHandlerError(error: unknown): void;
  /** The socket is closed; called exactly once. */
  onClosed(): void;
  /** With `streamMessages`: a piece of an uncompressed data message as it arrives. */
  onMessageChunk?(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void;
}

/** The compression codec a transport drives (permessage-deflate, RFC 7692). */
export interface MessageCodec {
  /** Messages smaller than this many bytes are sent uncompressed. */
  readonly threshold: number;
  compress(data: Buffer, callback: (err: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, callback: (err: ProtocolError | null, result?: Buffer) => void): void;
  /** Each message is compressed on its own (no context takeover): one may be sent uncompressed instead. */
  readonly sendNoContextTakeover?: boolean;
  /** Compresses now (small message, nothing queued) or returns null: then use `compress`. */
  compressNow?(data: Buffer): Buffer | null;
  /**
   * Inflates now and returns the message, or returns null and calls `callback` later; throws
   * the ProtocolError that fails the connection (1009, 1007).
   */
  decompressNow?(data: Buffer, callback: (err: ProtocolError | null, result?: Buffer) => void): Buffer | null;
  /** Frees zlib state that can be rebuilt (called when the connection is quiet). */
  releaseIfIdle(): void;
  close(): void;
}

/** Transport settings; times in milliseconds. */
export interface TransportOptions {
  /** True on the server side. */
  isServer: boolean;
  /** Largest incoming message in bytes. */
  maxPayload: number;
  /** Most frames per incoming message (1008 above it); default `DEFAULT_MAX_FRAGMENTS`. */
  maxFragments?: number;
  /** Answer pings automatically; default true. */
  autoPong?: boolean;
  /** How long to wait for the peer's close frame and TCP close before destroying the socket. */
  closeTimeout: number;
  /** Close a connection that received nothing for this long; 0 disables. */
  idleTimeout: number;
  /** Send a ping after half the idle timeout, so live peers answer and stay (default true). */
  sendPings?: boolean;
  /** Random source for client masking keys. */
  maskSource?: MaskSource;
  /** The negotiated compression codec, if any. */
  codec?: MessageCodec | null;
  /** Hand uncompressed data messages to `owner.onMessageChunk` piece by piece. Default false. */
  streamMessages?: boolean;
  /**
   * Client: end our side of the Duplex as soon as the close handshake is done, instead of
   * waiting for the server to close first. For an HTTP/2 stream: RFC 6455 §7.1.1 has the
   * server close TCP first so that the server holds TIME_WAIT, which a stream does not have,
   * and some servers (Apache httpd) end the stream only after the client does. Default false.
   */
  endAfterCloseHandshake?: boolean;
  /**
   * @internal The owner visits its transports on the timer wheel itself (a server walks its
   * open connections, timer-wheel.ts): a transport then does not join the wheel on its own,
   * which saves a set entry per connection. Default false.
   */
  wheelByOwner?: boolean;
}

/** Connection settings derived from transport settings, shared like them. */
const derived = new WeakMap<TransportOptions, [plain: ConnectionOptions, rsv1: ConnectionOptions]>();

/** The protocol connection settings for `options`, with or without RSV1 (a codec). */
export function connectionOptions(options: TransportOptions, allowRsv1: boolean): ConnectionOptions {
  let pair = derived.get(options);
  if (pair === undefined) {
    const base = {
      isServer: options.isServer,
      maxPayload: options.maxPayload,
      maxFragments: options.maxFragments,
      autoPong: options.autoPong,
      maskSource: options.maskSource,
      streamMessages: options.streamMessages,
    };
    pair = [{ ...base, allowRsv1: false }, { ...base, allowRsv1: true }];
    derived.set(options, pair);
  }
  return pair[allowRsv1 ? 1 : 0];
}
