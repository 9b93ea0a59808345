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
import { CloseCode } from "../protocol/close-code.js";
import { ProtocolError } from "../protocol/errors.js";
import type { DeflateParams, PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { Fifo, JobQueue, jobQueueFor } from "./zlib-jobs.js";
import { canRunSync, joinChunks, runSync, SyncStatus } from "./zlib-sync.js";

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, stripped on send, appended on receive (§7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** A compressed empty message: an empty stored block, tail stripped, leaves its header byte 0x00 (cf. RFC 7692 §7.2.3.6). */
const EMPTY_MESSAGE = Buffer.from([0x00]);

const DEFAULT_THRESHOLD = 1024;
const DEFAULT_LEVEL = zlib.constants.Z_DEFAULT_COMPRESSION; // 6
const DEFAULT_MEM_LEVEL = 8;
const DEFAULT_CONCURRENCY = 10;
/** Messages up to this many bytes (compressed size when inflating) are processed on the event loop. */
const DEFAULT_SYNC_LIMIT = 64 * 1024;
/** An inflation on the event loop hands the rest to the thread pool past this many times the sync limit of output. */
const SYNC_OUTPUT_FACTOR = 4;
/**
 * Output piece size of a zlib stream, also the granularity of the 1009 check. Each piece is one
 * thread-pool round trip, and the stream keeps one piece-sized buffer for its whole life.
 * Measured, inflating 16 MiB: 77 ms with 16 KiB pieces, 33 ms with 64 KiB, 25 ms with 256 KiB.
 * Per-connection contexts use zlib's 16 KiB (memory × connections); the few shared ones 64 KiB.
 */
const CONNECTION_CHUNK = 16 * 1024;
const SHARED_CHUNK = 64 * 1024;
/** Compressed messages up to this size are joined with the tail into one write (one thread-pool round trip). */
const JOIN_INPUT_LIMIT = 64 * 1024;

type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;
type CompressCallback = (err: Error | null, result?: Buffer) => void;
type DecompressCallback = (err: ProtocolError | null, result?: Buffer) => void;

// ---- zlib contexts ---------------------------------------------------------------------------

type Kind = "deflate" | "inflate";

/** What a context is made from; `key` names it in the shared pool. */
interface ContextSpec {
  kind: Kind;
  key: string;
  windowBits: number;
  level: number;
  memLevel: number;
  chunkSize: number;
}

/** Specs by parameters: a handful per process, shared by every connection that uses them. */
const specs = new Map<string, ContextSpec>();

function contextSpec(kind: Kind, windowBits: number, level: number, memLevel: number, chunkSize: number): ContextSpec {
  // The pool key leaves out the chunk size: only shared contexts (one chunk size) are pooled.
  const key = kind === "deflate" ? `d:${windowBits}:${level}:${memLevel}` : `i:${windowBits}`;
  const id = `${key}:${chunkSize}`;
  let spec = specs.get(id);
  if (spec === undefined) {
    spec = { kind, key, windowBits, level, memLevel, chunkSize };
    specs.set(id, spec);
  }
  return spec;
}

/** A zlib stream and the job it is serving. Events of a stream no job owns are dropped. */
class ZlibContext {
  readonly stream: ZlibStream;
  readonly spec: ContextSpec;
  job: Job | null = null;

  constructor(spec: ContextSpec) {
    this.spec = spec;
    // Every write is sync-flushed (RFC 7692 §7.2.1), so one write is one message: its callback
    // means all its output has been emitted. For inflate the flush mode changes nothing.
    const flush = zlib.constants.Z_SYNC_FLUSH;
    this.stream =
      spec.kind === "deflate"
        ? zlib.createDeflateRaw({ flush, level: spec.level, memLevel: spec.memLevel, windowBits: spec.windowBits, chunkSize: spec.chunkSize })
        : zlib.createInflateRaw({ flush, windowBits: spec.windowBits, chunkSize: spec.chunkSize });
    this.stream.on("data", (chunk: Buffer) => {
      const job = this.job;
      if (job !== null) job.onData(chunk);
    });
    // Kept for the stream's whole life: a late error on a destroyed stream must not crash.
    this.stream.on("error", (err: Error) => {
      const job = this.job;
      if (job !== null) job.onError(err);
    });
  }

  destroy(): void {
    this.job = null;
    this.stream.destroy();
  }
}

/** Where an incoming message and the tail are joined for inflation on the event loop (one per thread). */
let joinScratch: Buffer | null = null;

/** A buffer of `size` bytes for one synchronous inflation: the shared one when it fits. */
function inputScratch(size: number): Buffer {
  if (size > DEFAULT_SYNC_LIMIT + TAIL.length) return Buffer.allocUnsafeSlow(size);
  joinScratch ??= Buffer.allocUnsafeSlow(DEFAULT_SYNC_LIMIT + TAIL.length);
  return joinScratch.subarray(0, size);
}

/** Idle shared contexts by spec key (low-memory mode). */
const sharedPool = new Map<string, ZlibContext[]>();
/** Idle shared contexts kept per key; more than this are freed when returned. */
let sharedPoolLimit = DEFAULT_CONCURRENCY;

function takeShared(spec: ContextSpec): ZlibContext {
  const idle = sharedPool.get(spec.key);
  const ctx = idle?.pop();
  return ctx ?? new ZlibContext(spec);
}

function returnShared(ctx: ZlibContext): void {
  let idle = sharedPool.get(ctx.spec.key);
  if (idle === undefined) {
    idle = [];
    sharedPool.set(ctx.spec.key, idle);
  }
  if (idle.length >= sharedPoolLimit) {
    ctx.destroy();
    return;
  }
  idle.push(ctx);
}

/**
 * Frees every idle context of the process-wide pool (e.g. when the last server closes); they
 * are recreated on demand.
 */
export function releaseSharedContexts(): void {
  for (const idle of sharedPool.values()) for (const ctx of idle) ctx.destroy();
  sharedPool.clear();
}

/** Idle contexts in the process-wide pool (for tests and metrics). */
export function sharedContextCount(): number {
  let n = 0;
  for (const idle of sharedPool.values()) n += idle.length;
  return n;
}

// ---- jobs and channels -----------------------------------------------------------------------

/** One message through one direction. */
class Job {
  readonly channel: Channel;
  readonly input: Buffer | Buffer[];
  readonly callback: (err: Error | null, result?: Buffer) => void;
  ctx: ZlibContext | null = null;
  chunks: Buffer[] = [];
  size = 0;
  /** Input bytes written, to tell whether zlib consumed them all (RFC 7692 §7.2.3.4, BFINAL). */
  inputLength = 0;
  bytesBefore = 0;
  /** Holds a slot of the process-wide queue. */
  holdsSlot = false;
  done = false;
  /**
   * The rest of a message begun on the event loop ({@link Channel.decompressNow}): `ctx` is
   * already set and holds its state, `input` goes to zlib as it is (the tail included).
   */
  continuation = false;

  constructor(channel: Channel, input: Buffer | Buffer[], callback: (err: Error | null, result?: Buffer) => void) {
    this.channel = channel;
    this.input = input;
    this.callback = callback;
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    this.chunks.push(chunk);
    const limit = this.channel.maxOutput;
    // Decompression bomb: stop the moment the message is over the limit.
    if (limit > 0 && this.size > limit) {
      this.chunks = [];
      this.channel.fail(this, new ProtocolError(CloseCode.MessageTooBig, `inflated message exceeds maxPayload (${limit} bytes)`));
    }
  }

  onError(err: Error): void {
    if (this.done) return;
    this.channel.fail(this, this.channel.mapError(err));
  }

  onWritten(): void {
    if (this.done) return;
    this.channel.succeed(this);
  }
}

/** One direction of one connection: its FIFO of messages and its context. */
class Channel {
  readonly spec: ContextSpec;
  /** Reset the context after each message (RFC 7692 §7.1.1, no context takeover). */
  readonly resetEachMessage: boolean;
  /** Borrow the context from the shared pool for each message. */
  readonly shared: boolean;
  /** Largest output of one message (inflate: maxPayload; deflate: 0 = none). */
  readonly maxOutput: number;
  /** Largest input processed on the event loop (0: never). */
  readonly syncLimit: number;
  private readonly jobs: JobQueue;
  /** The per-connection context (never set when shared). */
  private ctx: ZlibContext | null = null;
  /** Messages waiting behind the running one (created on first need: most connections never queue). */
  private queue: Fifo<Job> | null = null;
  private running: Job | null = null;
  private closed = false;

  constructor(spec: ContextSpec, resetEachMessage: boolean, shared: boolean, maxOutput: number, syncLimit: number, jobs: JobQueue) {
    this.spec = spec;
    this.resetEachMessage = resetEachMessage;
    this.shared = shared;
    this.maxOutput = maxOutput;
    this.syncLimit = syncLimit;
    this.jobs = jobs;
  }

  get busy(): boolean {
    return this.running !== null || (this.queue !== null && this.queue.length > 0);
  }

  push(input: Buffer | Buffer[], callback: (err: Error | null, result?: Buffer) => void): void {
    if (this.closed) {
      process.nextTick(callback, this.closedError());
      return;
    }
    (this.queue ??= new Fifo()).push(new Job(this, input, callback));
    if (this.running === null) this.next();
  }

  private next(): void {
    const job = this.queue?.shift();
    if (job === undefined) return;
    this.running = job;
    this.jobs.enqueue(() => this.start(job));
  }

  /** Runs with a slot of the process-wide queue held. */
  private start(job: Job): void {
    if (job.done) {
      // Failed by close() while waiting for a slot.
      this.jobs.release();
      return;
    }
    job.holdsSlot = true;
    if (job.continuation) {
      const ctx = job.ctx!;
      ctx.job = job;
      const data = job.input as Buffer;
      job.bytesBefore = ctx.stream.bytesWritten;
      job.inputLength = data.length;
      ctx.stream.write(data, () => {
        if (ctx.job === job) job.onWritten();
      });
      return;
    }
    const parts = this.spec.kind === "inflate" ? (Array.isArray(job.input) ? job.input : [job.input]) : null;
    let total = 0;
    if (parts !== null) for (const part of parts) total += part.length;
    if (parts !== null && total === 0) {
      // An empty compressed payload is no DEFLATE block: it is an empty message. zlib is not
      // asked (fed only the tail, it would stop mid-block, waiting for the next message's bytes).
      process.nextTick(() => {
        if (!job.done) this.succeed(job);
      });
      return;
    }
    let ctx: ZlibContext;
    try {
      ctx = this.shared ? takeShared(this.spec) : (this.ctx ??= new ZlibContext(this.spec));
    } catch (err) {
      const error = this.mapError(err instanceof Error ? err : new Error(String(err)));
      process.nextTick(() => {
        if (!job.done) this.fail(job, error);
      });
      return;
    }
    job.ctx = ctx;
    ctx.job = job;
    const stream = ctx.stream;
    job.bytesBefore = stream.bytesWritten;
    const onWritten = (): void => {
      if (ctx.job === job) job.onWritten();
    };
    if (parts === null) {
      const data = job.input as Buffer;
      job.inputLength = data.length;
      stream.write(data, onWritten);
      return;
    }
    // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the payload, then inflate.
    job.inputLength = total + TAIL.length;
    if (total <= JOIN_INPUT_LIMIT) {
      const joined = Buffer.allocUnsafe(total + TAIL.length);
      let offset = 0;
      for (const part of parts) offset += part.copy(joined, offset);
      TAIL.copy(joined, offset);
      stream.write(joined, onWritten);
    } else {
      // Large: no copy; the writes are processed in order, the last callback ends the message.
      for (const part of parts) if (part.length > 0) stream.write(part);
      stream.write(TAIL, onWritten);
    }
  }

  /** @internal */
  succeed(job: Job): void {
    const ctx = job.ctx;
    let ended = false;
    if (ctx !== null) {
      const stream = ctx.stream;
      // Output still buffered in the readable side (not expected in flowing mode) is this job's.
      for (let chunk = stream.read() as Buffer | null; chunk !== null && !job.done; chunk = stream.read() as Buffer | null) job.onData(chunk);
      if (job.done) return; // that output crossed the limit
      // RFC 7692 §7.2.3.4: a block with BFINAL set ends zlib's stream; the rest (the tail) is
      // left unread and the stream takes nothing more, so it cannot serve another message.
      ended = stream.bytesWritten - job.bytesBefore < job.inputLength;
    }
    let result = job.chunks.length === 1 ? job.chunks[0] : Buffer.concat(job.chunks, job.size);
    if (this.spec.kind === "deflate") result = stripTail(result);
    this.finish(job, ended);
    job.callback(null, result);
  }

  /** @internal Fails `job` now; its context (mid-message, state unknown) is destroyed. */
  fail(job: Job, err: Error): void {
    this.finish(job, true);
    job.callback(err);
  }

  /** Returns the job's context (reset, pooled or destroyed) and slot, then starts the next message. */
  private finish(job: Job, discard: boolean): void {
    job.done = true;
    job.chunks = [];
    const ctx = job.ctx;
    if (ctx !== null) {
      job.ctx = null;
      ctx.job = null;
      if (discard) {
        ctx.destroy();
        if (this.ctx === ctx) this.ctx = null;
      } else if (this.shared) {
        ctx.stream.reset();
        returnShared(ctx);
      } else if (this.resetEachMessage) {
        // RFC 7692 §7.1.1: no context takeover, start the next message from an empty window.
        ctx.stream.reset();
      }
    }
    if (job.holdsSlot) {
      job.holdsSlot = false;
      this.jobs.release();
    }
    if (this.running === job) {
      this.running = null;
      if (!this.closed) this.next();
    }
  }

  // ---- on the event loop ----------------------------------------------------------------

  /** The context for a message run now: borrowed from the pool, or this connection's own. */
  private contextNow(): ZlibContext | null {
    const ctx = this.shared ? takeShared(this.spec) : (this.ctx ??= new ZlibContext(this.spec));
    if (canRunSync(ctx.stream)) return ctx;
    this.putBack(ctx, false);
    return null;
  }

  /** After a message run now: reset and pool, reset, keep, or (state unknown) destroy. */
  private putBack(ctx: ZlibContext, discard: boolean): void {
    if (discard) {
      ctx.destroy();
      if (this.ctx === ctx) this.ctx = null;
    } else if (this.shared) {
      ctx.stream.reset();
      returnShared(ctx);
    } else if (this.resetEachMessage) {
      // RFC 7692 §7.1.1: no context takeover, the next message starts from an empty window.
      ctx.stream.reset();
    }
  }

  /**
   * Compresses `data` now, on the event loop, when it is within the sync limit and nothing of
   * this direction is queued (message order, and the context's history, stay those of the
   * calls). Returns null otherwise (then use {@link push}), and on a zlib failure (the async
   * path will try with a fresh context). The result may be a view of a scratch buffer that the
   * next call overwrites: copy it before then.
   */
  compressNow(data: Buffer): Buffer | null {
    if (this.closed || data.length > this.syncLimit || this.busy) return null;
    const ctx = this.contextNow();
    if (ctx === null) return null;
    let result;
    try {
      result = runSync(ctx.stream, data, zlib.constants.Z_SYNC_FLUSH, Number.POSITIVE_INFINITY, true);
    } catch {
      this.putBack(ctx, true);
      return null;
    }
    this.putBack(ctx, false);
    return stripTail(joinChunks(result));
  }

  /**
   * Inflates one message now when its compressed size is within the sync limit and nothing of
   * this direction is queued; returns it, or null when the message went to the thread pool
   * (`callback` then gets it). An inflation that outgrows SYNC_OUTPUT_FACTOR × the sync limit
   * carries on in the thread pool from where it stopped (same context), so the event loop is
   * never held for long.
   *
   * @throws ProtocolError 1009 past maxPayload, 1007 for a corrupt stream.
   */
  decompressNow(data: Buffer, callback: (err: Error | null, result?: Buffer) => void): Buffer | null {
    const total = data.length;
    if (this.closed || total > this.syncLimit || this.busy) {
      this.push(data, callback);
      return null;
    }
    // An empty compressed payload is an empty message (see start()).
    if (total === 0) return Buffer.alloc(0);
    const ctx = this.contextNow();
    if (ctx === null) {
      this.push(data, callback);
      return null;
    }
    // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the payload, then inflate.
    const input = inputScratch(total + TAIL.length);
    data.copy(input, 0);
    TAIL.copy(input, total);
    const limit = this.maxOutput;
    const handOff = this.syncLimit * SYNC_OUTPUT_FACTOR;
    let result;
    try {
      result = runSync(ctx.stream, input, zlib.constants.Z_SYNC_FLUSH, limit > 0 && limit < handOff ? limit : handOff);
    } catch (err) {
      this.putBack(ctx, true);
      throw this.mapError(err instanceof Error ? err : new Error(String(err)));
    }
    if (result.status === SyncStatus.OverLimit) {
      if (limit > 0 && result.size > limit) {
        // Decompression bomb: stop at once (RFC 6455 §7.4.1, 1009).
        this.putBack(ctx, true);
        throw new ProtocolError(CloseCode.MessageTooBig, `inflated message exceeds maxPayload (${limit} bytes)`);
      }
      // A large output: the rest of the input goes on in the thread pool with this context.
      const job = new Job(this, Buffer.from(input.subarray(result.consumed)), callback);
      job.continuation = true;
      job.ctx = ctx;
      job.chunks = result.chunks;
      job.size = result.size;
      (this.queue ??= new Fifo()).push(job);
      this.next();
      return null;
    }
    // RFC 7692 §7.2.3.4: after a block with BFINAL the context cannot take another message.
    this.putBack(ctx, result.status === SyncStatus.Ended);
    return joinChunks(result);
  }

  /** Drops the per-connection context if nothing is queued and dropping it loses nothing. */
  releaseIfIdle(): void {
    if (this.busy || this.ctx === null) return;
    // A compressor may always start afresh (the peer's inflater just has history it won't be
    // asked for); an inflater with context takeover must keep the peer's window (RFC 7692 §7.2.2).
    if (this.spec.kind === "deflate" || this.resetEachMessage) {
      this.ctx.destroy();
      this.ctx = null;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const running = this.running;
    const queued = this.queue?.drain() ?? [];
    this.running = null;
    if (running !== null) {
      const ctx = running.ctx;
      running.done = true;
      running.chunks = [];
      if (ctx !== null) {
        // Mid-message: destroy (never pool) the context; its late events are dropped.
        running.ctx = null;
        ctx.destroy();
        if (this.ctx === ctx) this.ctx = null;
      }
      if (running.holdsSlot) {
        running.holdsSlot = false;
        this.jobs.release();
      }
      // Still waiting for a slot otherwise: start() sees it done and gives the slot back.
      process.nextTick(running.callback, this.closedError());
    }
    for (const job of queued) {
      job.done = true;
      process.nextTick(job.callback, this.closedError());
    }
    if (this.ctx !== null) {
      this.ctx.destroy();
      this.ctx = null;
    }
  }

  closedError(): Error {
    return this.spec.kind === "inflate"
      ? new ProtocolError(CloseCode.GoingAway, "permessage-deflate: the connection is closed")
      : new Error("permessage-deflate: the connection is closed");
  }

  /** @internal zlib errors: a corrupt incoming stream is the peer's fault (1007). */
  mapError(err: Error): Error {
    // zlib's error holds its handle (and the input) through the stack's frames until the stack
    // is read: read it, so a kept error does not keep the message (as ProtocolError does).
    void err.stack;
    if (this.spec.kind === "inflate") return new ProtocolError(CloseCode.InvalidFramePayloadData, `invalid compressed data: ${err.message}`);
    return err;
  }
}

/**
 * RFC 7692 §7.2.1: remove the 0x00 0x00 0xff 0xff a sync flush ends with. When zlib had nothing
 * to flush (an empty message after another, with context takeover) there is no output at all;
 * an empty message is then sent as one empty stored block header (§7.2.3.6).
 */
function stripTail(data: Buffer): Buffer {
  const n = data.length;
  if (n >= 4 && data[n - 4] === 0x00 && data[n - 3] === 0x00 && data[n - 2] === 0xff && data[n - 1] === 0xff) {
    return n === 4 ? EMPTY_MESSAGE : data.subarray(0, n - 4);
  }
  return n === 0 ? EMPTY_MESSAGE : data;
}

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
  private readonly deflater: Channel;
  private readonly inflater: Channel;
  private closed = false;

  /**
   * @param params the negotiated parameters ({@link negotiateServer} / {@link acceptClientResponse}).
   * @param isServer which end this is: picks the direction of each parameter.
   * @param options zlib tuning: level, memLevel, concurrencyLimit, threshold, sharedContexts.
   * @param maxPayload largest inflated message in bytes; 0 or less for no limit (not advised).
   */
  constructor(params: DeflateParams, isServer: boolean, options: PerMessageDeflateOptions, maxPayload: number) {
    this.params = params;
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    const level = options.level ?? DEFAULT_LEVEL;
    const memLevel = options.memLevel ?? DEFAULT_MEM_LEVEL;
    const limit = options.concurrencyLimit ?? DEFAULT_CONCURRENCY;
    const shared = options.sharedContexts !== false;
    const syncLimit = options.syncLimit ?? DEFAULT_SYNC_LIMIT;
    if (limit > sharedPoolLimit) sharedPoolLimit = limit;
    const jobs = jobQueueFor(limit);

    // RFC 7692 §7.1.1, §7.1.2: each side compresses with its own parameters.
    const sendNoTakeover = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    const recvNoTakeover = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    const sendBits = deflateWindowBits(isServer ? params.serverMaxWindowBits : params.clientMaxWindowBits);
    const recvBits = isServer ? params.clientMaxWindowBits : params.serverMaxWindowBits;

    const sendShared = shared && sendNoTakeover;
    const recvShared = shared && recvNoTakeover;
    const deflateSpec = contextSpec("deflate", sendBits, level, memLevel, sendShared ? SHARED_CHUNK : CONNECTION_CHUNK);
    const inflateSpec = contextSpec("inflate", recvBits, 0, 0, recvShared ? SHARED_CHUNK : CONNECTION_CHUNK);
    this.deflater = new Channel(deflateSpec, sendNoTakeover, sendShared, 0, syncLimit, jobs);
    this.inflater = new Channel(inflateSpec, recvNoTakeover, recvShared, maxPayload > 0 ? maxPayload : 0, syncLimit, jobs);
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
 * stripped (§7.2.1).
 */
export function compressShared(data: Buffer, windowBits: number, options: PerMessageDeflateOptions): Buffer {
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
