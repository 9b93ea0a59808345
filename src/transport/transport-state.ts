/**
 * A transport's rarely used and boolean state, kept small for idle connections (on Node 20
 * every field costs 8 bytes, a boolean too): the flags and the input pause count packed in one
 * number, and what few connections need (a failure, a close in progress, sends held back) in
 * one object allocated on first use. {@link Transport} extends it; every accessor reads like
 * the plain field it replaces.
 */
import type { PendingSend } from "./pending-sends.js";

/** The packed and on-demand state of a {@link Transport}. */
export abstract class TransportState {
  /** The flags below and the input pause count, in one number (one field instead of nine). */
  protected bits = 0;
  /** Allocated by the first connection that needs it (an idle one does not). */
  protected extras: TransportExtras | null = null;

  // ---- state kept apart (one `extras` field) ----------------------------------------------

  /** The error that failed the connection, if any. */
  get error(): Error | null {
    return this.extras === null ? null : this.extras.error;
  }
  set error(v: Error | null) {
    if (v !== null || this.extras !== null) this.more().error = v;
  }

  /** @internal the close handshake's deadline */
  get closeTimer(): NodeJS.Timeout | null {
    return this.extras === null ? null : this.extras.closeTimer;
  }
  set closeTimer(v: NodeJS.Timeout | null) {
    if (v !== null || this.extras !== null) this.more().closeTimer = v;
  }

  /** @internal Compressions in flight; sends wait behind them to keep message order. */
  get pendingSends(): PendingSend[] | null {
    return this.extras === null ? null : this.extras.pendingSends;
  }
  set pendingSends(v: PendingSend[] | null) {
    if (v !== null || this.extras !== null) this.more().pendingSends = v;
  }

  /** @internal Bytes of the sends in `pendingSends` (before compression): they count as buffered. */
  get pendingBytes(): number {
    return this.extras === null ? 0 : this.extras.pendingBytes;
  }
  set pendingBytes(v: number) {
    if (v !== 0 || this.extras !== null) this.more().pendingBytes = v;
  }

  /** @internal Callers of reserveSending still waiting for their turn (answered false on close). */
  get reserveWaiters(): Array<(ok: boolean) => void> | null {
    return this.extras === null ? null : this.extras.reserveWaiters;
  }
  set reserveWaiters(v: Array<(ok: boolean) => void> | null) {
    if (v !== null || this.extras !== null) this.more().reserveWaiters = v;
  }

  protected more(): TransportExtras {
    return (this.extras ??= new TransportExtras());
  }

  // ---- packed state (one `bits` field) ----------------------------------------------------

  /** @internal flush list membership */
  get flushQueued(): boolean {
    return (this.bits & FLUSH_QUEUED) !== 0;
  }
  set flushQueued(v: boolean) {
    this.bits = v ? this.bits | FLUSH_QUEUED : this.bits & ~FLUSH_QUEUED;
  }

  /** Whether the socket has closed. */
  get closed(): boolean {
    return (this.bits & CLOSED) !== 0;
  }
  set closed(v: boolean) {
    this.bits = v ? this.bits | CLOSED : this.bits & ~CLOSED;
  }

  /**
   * close() was called (or a handler failed) while sends still wait for compression: the
   * close frame is queued behind them, and nothing more may be sent (WHATWG: CLOSING).
   */
  get closeRequested(): boolean {
    return (this.bits & CLOSE_REQUESTED) !== 0;
  }
  set closeRequested(v: boolean) {
    this.bits = v ? this.bits | CLOSE_REQUESTED : this.bits & ~CLOSE_REQUESTED;
  }

  /** @internal a keepalive ping is unanswered */
  get pingOutstanding(): boolean {
    return (this.bits & PING_OUTSTANDING) !== 0;
  }
  set pingOutstanding(v: boolean) {
    this.bits = v ? this.bits | PING_OUTSTANDING : this.bits & ~PING_OUTSTANDING;
  }

  protected get waitingDrain(): boolean {
    return (this.bits & WAITING_DRAIN) !== 0;
  }
  protected set waitingDrain(v: boolean) {
    this.bits = v ? this.bits | WAITING_DRAIN : this.bits & ~WAITING_DRAIN;
  }

  /** @internal True while a socket read is being processed. */
  get reading(): boolean {
    return (this.bits & READING) !== 0;
  }
  set reading(v: boolean) {
    this.bits = v ? this.bits | READING : this.bits & ~READING;
  }

  /**
   * @internal Whether the socket copies what it writes synchronously, so output buffers may be
   * reused once a write completes (set for a net.Socket; a test or bench Duplex that copies may
   * set it too).
   */
  get copiesWrites(): boolean {
    return (this.bits & COPIES_WRITES) !== 0;
  }
  set copiesWrites(v: boolean) {
    this.bits = v ? this.bits | COPIES_WRITES : this.bits & ~COPIES_WRITES;
  }

  /** @internal A fragmented message is being sent: other data messages wait (RFC 6455 §5.4). */
  get sendingReserved(): boolean {
    return (this.bits & SENDING_RESERVED) !== 0;
  }
  set sendingReserved(v: boolean) {
    this.bits = v ? this.bits | SENDING_RESERVED : this.bits & ~SENDING_RESERVED;
  }

  /** Reasons input is paused (a message inflating, a consumer not reading): a count. */
  protected get inputPauses(): number {
    return this.bits >>> PAUSES_SHIFT;
  }
  protected set inputPauses(n: number) {
    this.bits = (this.bits & FLAGS_MASK) | (n << PAUSES_SHIFT);
  }
}

/** What few connections need: a failure, a close in progress, sends held back. */
class TransportExtras {
  error: Error | null = null;
  closeTimer: NodeJS.Timeout | null = null;
  pendingSends: PendingSend[] | null = null;
  pendingBytes = 0;
  reserveWaiters: Array<(ok: boolean) => void> | null = null;
}

// Bits of Transport.bits: eight flags, then the input pause count.
const FLUSH_QUEUED = 1;
const CLOSED = 2;
const CLOSE_REQUESTED = 4;
const PING_OUTSTANDING = 8;
const WAITING_DRAIN = 16;
const READING = 32;
export const COPIES_WRITES = 64;
const SENDING_RESERVED = 128;
const FLAGS_MASK = 255;
const PAUSES_SHIFT = 8;
