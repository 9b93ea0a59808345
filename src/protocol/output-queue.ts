/**
 * The bytes a connection has framed but not yet handed to its transport.
 *
 * Frames are copied into growing segments at the moment they are sent, so a caller may reuse
 * its buffer right after `send()` returns, and a burst of small frames (echoes, pongs,
 * publishes handled in one socket read) leaves as one contiguous buffer: one socket write.
 * Payloads of {@link OutputQueue.COPY_LIMIT} bytes or more are referenced, not copied (like
 * `socket.write`, the caller must not modify such a buffer after sending it).
 */
import { applyMask, copyMasked, headerSize, MAX_HEADER_SIZE, packMaskKey, writeHeader } from "./frame.js";
import { MaskHome } from "./mask-simd.js";

const MIN_SEGMENT = 1024;

/** Masking keys, shared by all client connections; each key is used once, right away. */
const maskPool = Buffer.allocUnsafe(4096);
let maskPoolOffset = maskPool.length;
const MAX_SEGMENT = 64 * 1024;

/** Supplies 4-byte masking keys (RFC 6455 §5.3: unpredictable, from a strong source). */
export interface MaskSource {
  /** Fills `target` with cryptographically strong random bytes. */
  (target: Uint8Array): void;
}

/** A queue of outgoing frame bytes for one connection. */
export class OutputQueue {
  /** Payloads at least this large are queued by reference instead of copied. */
  static readonly COPY_LIMIT = 8 * 1024;
  /** Client payloads at least this large are masked in the queue's {@link MaskHome} when it is free. */
  static readonly HOME_MIN = 64 * 1024;

  /** Completed segments, in order. */
  private chunks: Buffer[] | null = null;
  /** The segment being filled. */
  private segment: Buffer | null = null;
  private used = 0;
  /** Total bytes queued (all chunks plus the used part of the segment). */
  private total = 0;
  /** The segment last taken, until recycle() or the next take(). */
  private spare: Buffer | null = null;
  /**
   * A run of shared frames queued by reference (pushRaw): bytes [runStart, runEnd) of
   * `runBuf`'s memory, always the last thing queued (nothing in the segment after it).
   */
  private runBuf: ArrayBufferLike | null = null;
  private runStart = 0;
  private runEnd = 0;
  /**
   * Whether pushRaw may start a run: only once the last take()'s bytes were handed to the
   * operating system (recycle()), so a socket that cannot keep up pins at most two arenas
   * from this queue and two from its stream's buffer; behind a write in flight, frames are
   * copied.
   */
  private mayShare = false;

  private readonly maskSource: MaskSource | null;
  /** Client queues: where large frames are masked in place (see pushHomeFrame). */
  private home: MaskHome | null = null;

  /** `maskSource` is given for client connections, whose frames are masked. */
  constructor(maskSource: MaskSource | null) {
    this.maskSource = maskSource;
  }

  /** Bytes queued and not yet taken. */
  get length(): number {
    return this.total;
  }

  /** Queues a frame: `firstByte` is FIN | RSV | opcode; `payload` bytes or a string (UTF-8). */
  pushFrame(firstByte: number, payload: Uint8Array | string): void {
    if (typeof payload !== "string" && payload.length < 126 && this.maskSource === null) {
      // The common small server frame (RFC 6455 §5.2): two header bytes (7-bit length, no
      // mask), then the payload.
      const length = payload.length;
      const seg = this.reserve(2 + length);
      const off = this.used;
      seg[off] = firstByte;
      seg[off + 1] = length;
      seg.set(payload, off + 2);
      this.used = off + 2 + length;
      this.total += 2 + length;
      return;
    }
    const isString = typeof payload === "string";
    const length = isString ? Buffer.byteLength(payload) : payload.length;
    const masked = this.maskSource !== null;
    const head = headerSize(length, masked);
    if (length >= OutputQueue.COPY_LIMIT && !masked) {
      // Large server payload: header in the segment, payload by reference.
      const seg = this.reserve(head);
      this.used = writeHeader(seg, this.used, firstByte, length);
      this.total += head;
      this.pushChunk(isString ? Buffer.from(payload) : toBuffer(payload));
      return;
    }
    if (masked && length >= OutputQueue.HOME_MIN && this.pushHomeFrame(firstByte, payload, head, length)) return;
    const seg = this.reserve(head + length);
    let off = this.used;
    if (masked) {
      const pool = this.nextMask();
      const maskOffset = maskPoolOffset;
      maskPoolOffset += 4;
      off = writeHeader(seg, off, firstByte, length, pool, maskOffset);
      if (isString) {
        seg.write(payload, off, length, "utf8");
        // Mask the encoded text in place (RFC 6455 §5.3).
        applyMask(seg, off, off + length, pool, maskOffset, 0);
      } else {
        copyMasked(payload, 0, length, seg, off, pool, maskOffset);
      }
    } else {
      off = writeHeader(seg, off, firstByte, length);
      if (isString) seg.write(payload, off, length, "utf8");
      else seg.set(payload, off);
    }
    this.used = off + length;
    this.total += head + length;
  }

  /**
   * Queues bytes that are already a complete frame (a published frame encoded once, shared by
   * every subscriber: they must never change). A frame adjacent in memory to the run queued
   * just before it extends that run, so a burst of publishes to one subscriber costs no copy
   * and leaves as one view; otherwise small frames are copied, as in pushFrame.
   */
  pushRaw(frame: Buffer): void {
    const length = frame.length;
    const offset = frame.byteOffset;
    if (this.runEnd === offset && this.runBuf === frame.buffer) {
      this.runEnd += length;
      this.total += length;
      return;
    }
    if (length >= OutputQueue.COPY_LIMIT) {
      this.pushChunk(frame);
      return;
    }
    if ((this.total === 0 && this.mayShare) || (offset === 0 && this.runBuf !== null && this.chunks === null)) {
      // A new run: in an empty queue, or the shared frames went on in a fresh arena (then the
      // queue leaves as two views; never more than two runs per take).
      if (this.runBuf !== null) this.endRun();
      this.runBuf = frame.buffer;
      this.runStart = offset;
      this.runEnd = offset + length;
      this.total += length;
      return;
    }
    const seg = this.reserve(length);
    seg.set(frame, this.used);
    this.used += length;
    this.total += length;
  }

  /**
   * Takes everything queued: one Buffer in the common case, an array when large payloads were
   * queued by reference (write them corked, in order), or null when empty.
   */
  take(): Buffer | Buffer[] | null {
    if (this.total === 0) return null;
    this.mayShare = false;
    if (this.runBuf !== null) {
      if (this.chunks === null) {
        // Only shared frames: one view of them, no copy.
        const run = this.runView();
        this.total = 0;
        this.spare = this.segment;
        this.segment = null;
        return run;
      }
      this.endRun();
    }
    let tail: Buffer | null = null;
    if (this.segment !== null && this.used > 0) tail = this.segment.subarray(0, this.used);
    // The segment may be reused once the transport says its bytes were written (recycle()).
    this.spare = this.chunks === null ? this.segment : null;
    this.segment = null;
    this.used = 0;
    this.total = 0;
    const chunks = this.chunks;
    this.chunks = null;
    if (chunks === null) return tail;
    if (tail !== null) chunks.push(tail);
    return chunks.length === 1 ? chunks[0] : chunks;
  }

  /**
   * The bytes last taken have been handed to the operating system (the write completed
   * synchronously): their segment may be filled again instead of allocating a new one.
   */
  recycle(): void {
    this.mayShare = true;
    // Everything taken so far is written: a frame in the home is no longer read.
    if (this.home !== null && this.total === 0) this.home.busy = false;
    if (this.spare !== null && this.segment === null && this.total === 0) {
      this.segment = this.spare;
      this.used = 0;
    }
    this.spare = null;
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    // A frame in the home may still be in the socket's hands: let it go with its last view.
    this.home = null;
    this.runBuf = null;
    this.runEnd = 0;
    this.mayShare = false;
    this.chunks = null;
    this.segment = null;
    this.spare = null;
    this.used = 0;
    this.total = 0;
  }

  /**
   * Client side, a large frame: built in the queue's MaskHome, a WebAssembly memory where the
   * payload is copied (text: UTF-8-encoded) and masked in one pass (mask-simd.ts), and queued
   * as a view of it. Returns false (the caller copies as usual) while the home holds a frame not yet known
   * to be written (busy until recycle(): the transport calls it once the socket has taken
   * every byte), or when no home can be had. A home is made only once a write of this queue
   * was copied at once by its socket (mayShare), so that it will be reused; it is kept for the
   * connection's life, sized to the largest frame (at most MAX_MASK_HOME_SIZE), and a process
   * has at most MAX_MASK_HOMES of them.
   */
  private pushHomeFrame(firstByte: number, payload: Uint8Array | string, head: number, length: number): boolean {
    let home = this.home;
    // The payload starts 16 bytes in: its SIMD loads and stores are aligned.
    const size = 16 + length;
    if (home === null || home.buffer.length < size) {
      if (!this.mayShare || (home !== null && home.busy)) return false;
      home = MaskHome.create(size);
      if (home === null) return false;
      this.home = home;
    }
    if (home.busy) return false;
    home.busy = true;
    const pool = this.nextMask();
    const maskOffset = maskPoolOffset;
    maskPoolOffset += 4;
    const start = 16 - head;
    writeHeader(home.buffer, start, firstByte, length, pool, maskOffset);
    const key = packMaskKey(pool, maskOffset);
    if (typeof payload === "string") {
      home.buffer.write(payload, 16, length, "utf8");
      home.maskInPlace(16, 16 + length, key);
    } else {
      home.copyMasked(payload, 0, length, 16, key);
    }
    // A large segment kept from before the home existed is not needed any more.
    if (this.used === 0 && this.segment !== null && this.segment.length > MAX_SEGMENT) this.segment = null;
    this.pushChunk(home.buffer.subarray(start, size));
    return true;
  }

  /** Returns a segment with `bytes` free at `this.used`. */
  private reserve(bytes: number): Buffer {
    if (this.runBuf !== null) this.endRun();
    const seg = this.segment;
    if (seg !== null && seg.length - this.used >= bytes) return seg;
    if (seg !== null && this.used > 0) (this.chunks ??= []).push(seg.subarray(0, this.used));
    const prev = seg === null ? 0 : seg.length;
    let size = prev === 0 ? MIN_SEGMENT : prev * 2;
    if (size > MAX_SEGMENT) size = MAX_SEGMENT;
    if (size < bytes) size = bytes;
    const next = Buffer.allocUnsafe(size);
    this.segment = next;
    this.used = 0;
    return next;
  }

  private pushChunk(chunk: Buffer): void {
    if (this.runBuf !== null) this.endRun();
    if (this.segment !== null && this.used > 0) {
      (this.chunks ??= []).push(this.segment.subarray(0, this.used));
      this.segment = this.segment.subarray(this.used);
      this.used = 0;
      if (this.segment.length < MAX_HEADER_SIZE) this.segment = null;
    }
    (this.chunks ??= []).push(chunk);
    this.total += chunk.length;
  }

  /** The queued run as a Buffer, and no run open any more. */
  private runView(): Buffer {
    const view = Buffer.from(this.runBuf!, this.runStart, this.runEnd - this.runStart);
    this.runBuf = null;
    this.runEnd = 0;
    return view;
  }

  /** Closes the run: it becomes a chunk, and later bytes go after it. */
  private endRun(): void {
    // Invariant: the run is the last thing queued, so the segment holds nothing after it.
    (this.chunks ??= []).push(this.runView());
  }

  /** The shared pool holding the next masking key; refilled 1,024 keys at a time. */
  private nextMask(): Buffer {
    if (maskPoolOffset >= maskPool.length) {
      this.maskSource!(maskPool);
      maskPoolOffset = 0;
    }
    return maskPool;
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
