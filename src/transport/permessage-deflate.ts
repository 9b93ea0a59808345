/**
 * The permessage-deflate codec (RFC 7692 §7.2): compresses outgoing messages and inflates
 * incoming ones for one connection, with the parameters negotiated by
 * `protocol/extensions/permessage-deflate.ts`.
 *
 * Design (many connections, small messages, hostile peers):
 * - Two paths, one order. A message up to `syncLimit` bytes (incoming: compressed bytes) whose
 *   direction has nothing queued is processed at once on the event loop through a kept zlib
 *   context (`zlib-sync.ts`: ≈6 µs to inflate and ≈16 µs to deflate 1 KiB of JSON, against
 *   ≈20 µs per thread-pool round trip and ≈16 µs for `deflateRawSync`, which builds and frees a
 *   whole context per call). Anything else goes through the context's asynchronous stream on
 *   zlib's thread pool, one job at a time per direction, so results come in call order; an
 *   inflation begun on the event loop that outgrows 4 × syncLimit hands the rest of its input
 *   to the thread pool on the same context.
 * - Context takeover (RFC 7692 §7.1.1): a direction without `*_no_context_takeover` keeps one
 *   context per connection across messages (created lazily, released when idle where that loses
 *   nothing); a direction with it (the server's default both ways) borrows a context from a small
 *   process-wide pool keyed by its zlib parameters and resets it after the message, so
 *   connections hold no zlib memory at all.
 * - A message sent unchanged right after it was received (echo, forward, publish) reuses the
 *   peer's compressed payload when RFC 7692 allows it (`zlib-relay.ts`), and a message that
 *   deflate does not shrink is sent uncompressed when this end has no context takeover (§6.1).
 * - One process-wide queue per `concurrencyLimit` bounds the thread-pool jobs running at once.
 * - Inflation is bounded (decompression bombs): on the event loop the output is checked after
 *   each 64 KiB piece, in the thread pool after each 16 KiB (64 KiB for pooled contexts, see
 *   CONNECTION_CHUNK); past `maxPayload` zlib is stopped and the message fails with 1009. Peak
 *   memory for a bomb is maxPayload + one piece + the zlib window, however much it would inflate
 *   to.
 *
 * Measured memory per connection (Node 20, Linux x64, server, 1,000 connections after one ~1 KiB
 * message each, RSS over the same server without compression; bench/deflate.mjs):
 *
 * | mode                                                   | RSS per connection |
 * |--------------------------------------------------------|--------------------|
 * | no context takeover either way, pooled (the default)   | +~2 KiB            |
 * | client context takeover only, 10-bit client window     | +~20 KiB           |
 * | takeover both ways, 10-bit windows, memLevel 4         | +~105 KiB          |
 * | takeover both ways, 15-bit windows, memLevel 8         | +~245 KiB          |
 *
 * A deflate context costs window (2 × 2^windowBits) + prev (2 × 2^windowBits) + pending
 * (4 × 2^(memLevel+6)) + a hash table that Node's zlib (Chromium's, with SIMD hashing) keeps at
 * 2^15 entries × 2 bytes = 64 KiB whatever the memLevel; an inflate context ≈ 7 KiB + 2^windowBits;
 * a stream also keeps its output piece (16 KiB per connection, 64 KiB pooled), touched only by
 * the thread-pool path. The codec object itself is < 1 KiB.
 */
import zlib from "node:zlib";
import type { ProtocolError } from "../protocol/errors.js";
import type { DeflateParams, PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { Channel, DEFAULT_SYNC_LIMIT, stripTail } from "./deflate-channel.js";
import { contextSpec, raiseSharedPoolLimit, returnShared, takeShared } from "./zlib-context.js";
import { jobQueueFor } from "./zlib-jobs.js";
import { relayed } from "./zlib-relay.js";
import { canRunSync, joinChunks, runSync } from "./zlib-sync.js";

export { releaseSharedContexts, sharedContextCount } from "./zlib-context.js";

const DEFAULT_THRESHOLD = 1024;
/**
 * Level without context takeover: Z_BEST_SPEED. Each message is compressed alone, so zlib's
 * longer searches find little more: measured on ~1 KiB JSON chat messages
 * (bench/deflate-levels.mjs, Node 20's zlib), level 1 costs 15.4 µs per message against 17.8 µs
 * at 6 for 1.6 % more bytes (ratio 1.934 vs 1.965); on 16 KiB documents 102 µs against 249 µs
 * for 7 % more bytes (2.87 vs 3.09). docs/PERFORMANCE.md, "Compression (round 3)".
 */
const DEFAULT_LEVEL = zlib.constants.Z_BEST_SPEED;
/**
 * Level with context takeover: zlib's default (6). Takeover is chosen for its ratio on streams
 * of similar messages, which needs the longer searches: echo of the bench messages, ratio 3.30
 * at 6 against 2.77 at 1 (for 2.2x the CPU).
 */
const DEFAULT_TAKEOVER_LEVEL = zlib.constants.Z_DEFAULT_COMPRESSION;
/** zlib's default: memLevel changes neither the speed nor, with Node's zlib, much memory (hash table fixed at 2^15). */
const DEFAULT_MEM_LEVEL = 8;
const DEFAULT_CONCURRENCY = 10;
/**
 * Output piece size of a zlib stream, also the granularity of the 1009 check. Each piece is one
 * thread-pool round trip, and the stream keeps one piece-sized buffer for its whole life.
 * Measured, inflating 16 MiB: 77 ms with 16 KiB pieces, 33 ms with 64 KiB, 25 ms with 256 KiB.
 * Per-connection contexts use zlib's 16 KiB (memory × connections); the few shared ones 64 KiB.
 */
const CONNECTION_CHUNK = 16 * 1024;
const SHARED_CHUNK = 64 * 1024;

type CompressCallback = (err: Error | null, result?: Buffer) => void;
type DecompressCallback = (err: ProtocolError | null, result?: Buffer) => void;

/**
 * zlib refuses an 8-bit window for raw deflate (zlib ≥ 1.2.9: "until 256-byte window bug
 * fixed"; Node/zlib silently use 9 instead). Compressing with 9 bits is still within a
 * negotiated 8: zlib never emits a distance beyond w_size - MIN_LOOKAHEAD = 512 - 262 = 250
 * bytes, less than the 256-byte window the peer inflates with (measured: data repeating at 250
 * bytes compresses, at 300 it does not). Inflating honours 8 exactly.
 */
function deflateWindowBits(bits: number): number {
  return bits === 8 ? 9 : bits;
}

// ---- the codec -------------------------------------------------------------------------------

/**
 * The permessage-deflate codec of one connection (RFC 7692 §7.2). The server compresses with the
 * server parameters and inflates with the client's; the client the reverse.
 */
export class PerMessageDeflate {
  /** Messages smaller than this many bytes are sent uncompressed (transport's choice). */
  readonly threshold: number;
  /** The negotiated parameters. */
  readonly params: DeflateParams;
  /**
   * This end compresses without context takeover (RFC 7692 §7.1.1): each message stands alone,
   * so any one may also be sent uncompressed (§6.1) without upsetting the peer's window.
   */
  readonly sendNoContextTakeover: boolean;
  private readonly deflater: Channel;
  private readonly inflater: Channel;
  private closed = false;

  /**
   * @param params the negotiated parameters ({@link negotiateServer} / {@link acceptClientResponse}).
   * @param isServer which end this is: picks the direction of each parameter.
   * @param options zlib tuning: level, memLevel, concurrencyLimit, threshold, sharedContexts, relay.
   * @param maxPayload largest inflated message in bytes; 0 or less for no limit (not advised).
   */
  constructor(params: DeflateParams, isServer: boolean, options: PerMessageDeflateOptions, maxPayload: number) {
    this.params = params;
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    const memLevel = options.memLevel ?? DEFAULT_MEM_LEVEL;
    const limit = options.concurrencyLimit ?? DEFAULT_CONCURRENCY;
    const shared = options.sharedContexts !== false;
    const syncLimit = options.syncLimit ?? DEFAULT_SYNC_LIMIT;
    raiseSharedPoolLimit(limit);
    const jobs = jobQueueFor(limit);

    // RFC 7692 §7.1.1, §7.1.2: each side compresses with its own parameters.
    const sendNoTakeover = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    const recvNoTakeover = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    const sendBits = deflateWindowBits(isServer ? params.serverMaxWindowBits : params.clientMaxWindowBits);
    const recvBits = isServer ? params.clientMaxWindowBits : params.serverMaxWindowBits;

    this.sendNoContextTakeover = sendNoTakeover;
    const level = options.level ?? (sendNoTakeover ? DEFAULT_LEVEL : DEFAULT_TAKEOVER_LEVEL);
    const sendShared = shared && sendNoTakeover;
    const recvShared = shared && recvNoTakeover;
    const deflateSpec = contextSpec("deflate", sendBits, level, memLevel, sendShared ? SHARED_CHUNK : CONNECTION_CHUNK);
    const inflateSpec = contextSpec("inflate", recvBits, 0, 0, recvShared ? SHARED_CHUNK : CONNECTION_CHUNK);
    this.deflater = new Channel(deflateSpec, sendNoTakeover, sendShared, 0, syncLimit, jobs, options.relay !== false);
    this.inflater = new Channel(inflateSpec, recvNoTakeover, recvShared, maxPayload > 0 ? maxPayload : 0, syncLimit, jobs, options.relay !== false);
  }

  /**
   * Compresses one whole message payload. The callback gets the compressed bytes with the
   * 0x00 0x00 0xff 0xff tail stripped (RFC 7692 §7.2.1), to send with RSV1 set on the first
   * frame. Callbacks are called in call order, never synchronously.
   */
  compress(data: Buffer, callback: CompressCallback): void {
    this.deflater.push(data, callback);
  }

  /**
   * Compresses one message now, on the event loop, if it is within `syncLimit` and no earlier
   * compression is still queued; returns the bytes to send (as {@link compress} would give
   * them), or null: then use {@link compress}. Nothing happens when it returns null.
   */
  compressNow(data: Buffer): Buffer | null {
    return this.deflater.compressNow(data);
  }

  /**
   * Decompresses one message now when its compressed payload is within `syncLimit` and no
   * earlier message is still inflating, returning it; otherwise returns null and `callback`
   * gets the result later, as with {@link decompress} (a large inflation begun here carries on
   * in the thread pool).
   *
   * @throws ProtocolError 1009 when the message inflates past maxPayload, 1007 when corrupt.
   */
  decompressNow(data: Buffer, callback: DecompressCallback): Buffer | null {
    return this.inflater.decompressNow(data, callback as (err: Error | null, result?: Buffer) => void);
  }

  /**
   * Decompresses one whole message: the payloads of all its frames, concatenated or as a list.
   * The tail is appended (RFC 7692 §7.2.2) and the result bounded by maxPayload: past it the
   * inflation stops and the callback gets ProtocolError(1009); a corrupt stream gives
   * ProtocolError(1007). Callbacks are called in call order, never synchronously.
   */
  decompress(data: Buffer | Buffer[], callback: DecompressCallback): void {
    this.inflater.push(data, callback as (err: Error | null, result?: Buffer) => void);
  }

  /**
   * Releases the zlib contexts now (the connection closed). Jobs not finished get an error
   * callback (asynchronously); later calls fail the same way. Safe to call more than once.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deflater.close();
    this.inflater.close();
  }

  /**
   * Releases contexts this connection can do without while idle (called by the transport from a
   * timer); they are recreated on next use. The compressor is always released (a fresh one is
   * valid at any message boundary, it only loses ratio on the next message); the decompressor
   * only without context takeover, since with it the peer may refer to earlier messages. Shared
   * contexts are never held between messages, so there is nothing else to release.
   */
  releaseIfIdle(): void {
    if (this.closed) return;
    this.deflater.releaseIfIdle();
    this.inflater.releaseIfIdle();
  }
}

/**
 * Compresses one whole message with a context from the process-wide pool, on the event loop, as
 * a sender without context takeover would (RFC 7692 §7.1.1): the result can go to any peer whose
 * server-to-client direction has no context takeover and a window of at least `windowBits`
 * (publish encodes a message once for all such subscribers). Returns the payload with the tail
 * stripped (§7.2.1); a view valid until the next inflation or compression, copy it.
 */
export function compressShared(data: Buffer, windowBits: number, options: PerMessageDeflateOptions): Buffer {
  if (windowBits === 15 && options.relay !== false) {
    // A received message published unchanged: its payload as the peer compressed it (zlib-relay.ts).
    const relay = relayed(data);
    if (relay !== null) return relay;
  }
  const bits = deflateWindowBits(windowBits);
  const level = options.level ?? DEFAULT_LEVEL;
  const memLevel = options.memLevel ?? DEFAULT_MEM_LEVEL;
  const ctx = takeShared(contextSpec("deflate", bits, level, memLevel, SHARED_CHUNK));
  if (!canRunSync(ctx.stream)) {
    returnShared(ctx);
    return stripTail(zlib.deflateRawSync(data, { windowBits: bits, level, memLevel, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  }
  let result;
  try {
    result = runSync(ctx.stream, data, zlib.constants.Z_SYNC_FLUSH, Number.POSITIVE_INFINITY);
  } catch (err) {
    ctx.destroy();
    throw err;
  }
  ctx.stream.reset();
  returnShared(ctx);
  return stripTail(joinChunks(result));
}
