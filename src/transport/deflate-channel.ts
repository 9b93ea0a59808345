/**
 * One direction of one permessage-deflate connection (RFC 7692 §7.2): its messages in call
 * order, through a kept zlib context on the event loop when small and nothing is queued, else
 * one at a time on zlib's thread pool; its context per connection (context takeover) or
 * borrowed from the pool (no context takeover); inflation bounded by maxPayload.
 */
import zlib from "node:zlib";
import { CloseCode } from "../protocol/close-code.js";
import { ProtocolError } from "../protocol/errors.js";
import { type ContextSpec, type ContextUser, returnShared, takeShared, ZlibContext } from "./zlib-context.js";
import { Fifo, JobQueue } from "./zlib-jobs.js";
import { atBlockBoundary, forgetInflated, noteInflated, relayCandidate, relayed } from "./zlib-relay.js";
import { canRunSync, joinChunks, runSync, SyncStatus } from "./zlib-sync.js";

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, stripped on send, appended on receive (§7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** A compressed empty message: an empty stored block, tail stripped, leaves its header byte 0x00 (cf. RFC 7692 §7.2.3.6). */
const EMPTY_MESSAGE = Buffer.from([0x00]);
const NO_INPUT = Buffer.alloc(0);
function noop(): void {}
/** Messages up to this many bytes (compressed size when inflating) are processed on the event loop. */
export const DEFAULT_SYNC_LIMIT = 64 * 1024;
/** An inflation on the event loop hands the rest to the thread pool past this many times the sync limit of output. */
const SYNC_OUTPUT_FACTOR = 4;
/** Compressed messages up to this size are joined with the tail into one write (one thread-pool round trip). */
const JOIN_INPUT_LIMIT = 64 * 1024;

/** Where an incoming message and the tail are joined for inflation on the event loop (one per thread). */
let joinScratch: Buffer | null = null;

/** A buffer of `size` bytes for one synchronous inflation: the shared one when it fits. */
function inputScratch(size: number): Buffer {
  if (size > DEFAULT_SYNC_LIMIT + TAIL.length) return Buffer.allocUnsafeSlow(size);
  joinScratch ??= Buffer.allocUnsafeSlow(DEFAULT_SYNC_LIMIT + TAIL.length);
  return joinScratch.subarray(0, size);
}

/** One message through one direction. */
class Job implements ContextUser {
  readonly channel: Channel;
  input: Buffer | Buffer[];
  private callback: ((err: Error | null, result?: Buffer) => void) | null;
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

  /**
   * The callback, once; the job then lets go of its input and of the callback. A zlib stream
   * destroyed mid-write can stay referenced by its native handle, and through the write's
   * callback it would keep this job, the (maybe megabytes of) compressed input and the
   * connection behind the callback alive.
   */
  take(): (err: Error | null, result?: Buffer) => void {
    const callback = this.callback ?? noop;
    this.callback = null;
    this.input = NO_INPUT;
    return callback;
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
export class Channel {
  readonly spec: ContextSpec;
  /** Reset the context after each message (RFC 7692 §7.1.1, no context takeover). */
  readonly resetEachMessage: boolean;
  /** Borrow the context from the shared pool for each message. */
  readonly shared: boolean;
  /** Largest output of one message (inflate: maxPayload; deflate: 0 = none). */
  readonly maxOutput: number;
  /** Largest input processed on the event loop (0: never). */
  readonly syncLimit: number;
  /** Deflate: send a just-received message unchanged with the peer's payload (zlib-relay.ts) when allowed; inflate: check such payloads. */
  private readonly relay: boolean;
  private readonly jobs: JobQueue;
  /** The per-connection context (never set when shared). */
  private ctx: ZlibContext | null = null;
  /** Messages waiting behind the running one (created on first need: most connections never queue). */
  private queue: Fifo<Job> | null = null;
  private running: Job | null = null;
  private closed = false;

  constructor(spec: ContextSpec, resetEachMessage: boolean, shared: boolean, maxOutput: number, syncLimit: number, jobs: JobQueue, relay: boolean) {
    this.spec = spec;
    // RFC 7692 §7.1.1: only a compressor without context takeover may send a foreign payload;
    // a 15-bit window takes any DEFLATE distance.
    // Inflate: messages from an empty window, checked for a relay right after inflation.
    this.relay = relay && resetEachMessage && (spec.kind === "inflate" || spec.windowBits === 15);
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
    job.take()(null, result);
  }

  /** @internal Fails `job` now; its context (mid-message, state unknown) is destroyed. */
  fail(job: Job, err: Error): void {
    this.finish(job, true);
    job.take()(err);
  }

  /** Returns the job's context (reset, pooled or destroyed) and slot, then starts the next message. */
  private finish(job: Job, discard: boolean): void {
    job.done = true;
    job.chunks = [];
    const ctx = job.ctx;
    if (ctx !== null) {
      job.ctx = null;
      ctx.job = null;
      this.putBack(ctx, discard);
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

  /** After a message (run now or on the thread pool): reset and pool, reset, keep, or (state unknown) destroy. */
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
    if (this.relay) {
      // The message just received, sent on unchanged: its payload as the peer compressed it.
      const relay = relayed(data);
      if (relay !== null) return relay;
    }
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
    forgetInflated(); // the input scratch is about to change
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
    // Inflated from an empty window in one piece: a send of the same bytes may reuse the payload
    // (zlib-relay.ts), once it is known to end at a block boundary: checked now, on this context.
    const candidate = this.resetEachMessage && result.status === SyncStatus.Done && result.chunks.length === 1 && relayCandidate(total, result.size);
    let checked = false;
    if (candidate && this.relay) {
      try {
        checked = atBlockBoundary(ctx.stream as zlib.InflateRaw);
      } catch {
        // The payload ended inside a block: the message stands, the context is lost.
        this.putBack(ctx, true);
        return joinChunks(result);
      }
    }
    // RFC 7692 §7.2.3.4: after a block with BFINAL the context cannot take another message.
    // (After the check it has ended or holds garbage: reset, as every message here is.)
    this.putBack(ctx, result.status === SyncStatus.Ended);
    if (candidate && (checked || !this.relay)) noteInflated(input.subarray(0, total), result.size, checked);
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
      process.nextTick(running.take(), this.closedError());
    }
    for (const job of queued) {
      job.done = true;
      process.nextTick(job.take(), this.closedError());
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
export function stripTail(data: Buffer): Buffer {
  const n = data.length;
  if (n >= 4 && data[n - 4] === 0x00 && data[n - 3] === 0x00 && data[n - 2] === 0xff && data[n - 1] === 0xff) {
    return n === 4 ? EMPTY_MESSAGE : data.subarray(0, n - 4);
  }
  return n === 0 ? EMPTY_MESSAGE : data;
}
