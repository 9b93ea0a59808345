/**
 * zlib contexts for permessage-deflate: a raw deflate or inflate stream with the parameters it
 * was made from, and the process-wide pool of idle contexts that directions without context
 * takeover (RFC 7692 §7.1.1) borrow for one message at a time, keyed by their zlib parameters.
 */
import zlib from "node:zlib";

/** A raw deflate or inflate stream. */
export type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;

/** Which way a context works. */
export type Kind = "deflate" | "inflate";

/** What a context is made from; `key` names it in the shared pool. */
export interface ContextSpec {
  kind: Kind;
  key: string;
  windowBits: number;
  level: number;
  memLevel: number;
  chunkSize: number;
}

/** Specs by parameters: a handful per process, shared by every connection that uses them. */
const specs = new Map<string, ContextSpec>();

export function contextSpec(kind: Kind, windowBits: number, level: number, memLevel: number, chunkSize: number): ContextSpec {
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

/** What a context's output and errors go to: the message it is serving. */
export interface ContextUser {
  onData(chunk: Buffer): void;
  onError(err: Error): void;
}

/** A zlib stream and the job it is serving. Events of a stream no job owns are dropped. */
export class ZlibContext {
  readonly stream: ZlibStream;
  readonly spec: ContextSpec;
  job: ContextUser | null = null;

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

  /**
   * Drops the context: its events are ignored from now on, and the stream is destroyed on the
   * next tick. Not at once: this may run inside the stream's own output callback (a bomb found
   * in a 'data' event), and a stream destroyed there parks the rest of its input on a `_read`
   * that never comes, keeping the whole compressed message referenced by the native handle
   * forever. A tick later the pending write (one more output piece at most) sees the stream
   * destroyed and lets go of its input.
   */
  destroy(): void {
    this.job = null;
    process.nextTick(destroyStream, this.stream);
  }
}

function destroyStream(stream: ZlibStream): void {
  stream.destroy();
}

/** Idle shared contexts by spec key (low-memory mode). */
const sharedPool = new Map<string, ZlibContext[]>();
/** Idle shared contexts kept per key; more than this are freed when returned. */
let sharedPoolLimit = 10;

/** Keeps at least `limit` idle contexts per key (the largest `concurrencyLimit` in use). */
export function raiseSharedPoolLimit(limit: number): void {
  if (limit > sharedPoolLimit) sharedPoolLimit = limit;
}

export function takeShared(spec: ContextSpec): ZlibContext {
  const idle = sharedPool.get(spec.key);
  const ctx = idle?.pop();
  return ctx ?? new ZlibContext(spec);
}

export function returnShared(ctx: ZlibContext): void {
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
