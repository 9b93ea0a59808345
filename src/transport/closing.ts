/**
 * How a transport's connection ends: the close frame and the end of TCP after it (RFC 6455
 * §7.1.1-§7.1.2) with the close timer, the handler-error boundary (1011), errors reported to
 * the owner, the idle timeout with its keepalive ping (RFC 6455 §5.5.2), and what is released
 * once the socket has closed.
 */
import { CloseCode } from "../protocol/close-code.js";
import { assertCloseFrame, ReadyState } from "../protocol/connection.js";
import { ProtocolError } from "../protocol/errors.js";
import { elapsed, leaveWheel } from "./timer-wheel.js";
import type { Transport } from "./transport.js";

/** `Transport.close`: the close frame now, or behind the sends waiting for a compression. */
export function startClose(t: Transport, code: number, reason: string): void {
  // Checked now, even when the close frame has to wait behind a compression.
  assertCloseFrame(code, reason);
  if (t.closed) return;
  const conn = t.connection;
  if (t.pendingSends !== null) {
    if (t.closeRequested) return;
    // Let queued messages go first (no data is lost), then the close frame; from now on
    // the connection is CLOSING and accepts nothing more.
    t.closeRequested = true;
    t.pendingSends.push({ ready: true, size: 0, run: () => closeNow(t, code, reason) });
    armCloseTimer(t);
    return;
  }
  if (conn.closeSent) return;
  closeNow(t, code, reason);
}

/** Sends the close frame now (nothing waits before it); ends TCP if the peer's came first. */
export function closeNow(t: Transport, code: number, reason: string): void {
  const conn = t.connection;
  if (conn.closeSent || t.closed) return;
  conn.close(code, reason);
  if (conn.closeReceived) endAfterFlush(t);
  else armCloseTimer(t);
}

/** The peer's close frame arrived: tell the owner, then end TCP or wait for the server to. */
export function closeFrameReceived(t: Transport, code: number, reason: string): void {
  try {
    t.owner.onCloseFrame(code, reason);
  } catch (err) {
    t.owner.onHandlerError(err);
  }
  if (t.connection.isServer || (t.options.endAfterCloseHandshake === true && t.connection.closeSent)) {
    // RFC 6455 §7.1.1: the server closes the TCP connection first, after its close frame
    // (a client on an HTTP/2 stream may end its half now too: see endAfterCloseHandshake).
    endAfterFlush(t);
  } else {
    // The client waits for the server to close TCP, but not forever.
    armCloseTimer(t);
  }
}

/** `Transport.fail` (RFC 6455 §7.1.7): a close frame if we may, then the end of TCP. */
export function failConnection(t: Transport, error: Error): void {
  if (t.closed) return;
  if (t.error === null) t.error = error;
  const conn = t.connection;
  if (!conn.closeSent) conn.close(error instanceof ProtocolError ? error.closeCode : CloseCode.InternalError, "");
  report(t, error, true);
  endAfterFlush(t);
}

/** `Transport.handlerFailed`: report, stop delivering, close with 1011 after what was queued. */
export function handlerFailed(t: Transport, thrown: unknown): void {
  t.owner.onHandlerError(thrown);
  if (t.closed) return;
  const conn = t.connection;
  if (t.error === null) {
    t.error = new ProtocolError(CloseCode.InternalError, "a handler threw", { cause: thrown });
  }
  conn.stopReceiving();
  // Reading on lets the socket's end and close be seen (the bytes are ignored).
  t.socket.resume();
  const failNow = (): void => {
    if (t.closed) return;
    if (!conn.closeSent) conn.close(CloseCode.InternalError, "");
    endAfterFlush(t);
  };
  if (t.pendingSends !== null && !t.closeRequested) {
    t.closeRequested = true;
    t.pendingSends.push({ ready: true, size: 0, run: failNow });
    armCloseTimer(t);
  } else {
    failNow();
  }
}

/** Tells the owner about an error; a throw there is reported, never propagated. */
export function report(t: Transport, error: Error, failed: boolean): void {
  try {
    t.owner.onError(error, failed);
  } catch (err) {
    t.owner.onHandlerError(err);
  }
}

/** Writes what is queued, ends our side of the stream, and waits for its close (bounded). */
export function endAfterFlush(t: Transport): void {
  t.flush(true);
  if (!t.socket.writableEnded) t.socket.end();
  armCloseTimer(t);
}

/** Destroys the socket if it has not closed within the close timeout. */
export function armCloseTimer(t: Transport): void {
  if (t.closeTimer !== null || t.closed) return;
  t.closeTimer = setTimeout(onCloseTimeout, t.options.closeTimeout, t);
}

function onCloseTimeout(t: Transport): void {
  t.terminate();
}

/** The socket has closed: stops the timers and frees the parser, waiting sends and codec. */
export function releaseClosed(t: Transport): void {
  if (t.closeTimer !== null) {
    clearTimeout(t.closeTimer);
    t.closeTimer = null;
  }
  if (t.options.idleTimeout > 0 && t.options.wheelByOwner !== true) leaveWheel(t);
  t.connection.destroy();
  t.pendingSends = null;
  t.sendingReserved = false;
  const waiters = t.reserveWaiters;
  t.reserveWaiters = null;
  if (waiters !== null) for (const w of waiters) w(false);
  if (t.codec !== null) t.codec.close();
}

/** The timer wheel's visit: shed idle state, ping a quiet peer, drop a silent one. */
export function idleTick(t: Transport, now: number): void {
  if (t.closed || t.connection.readyState !== ReadyState.OPEN) return;
  const idle = elapsed(now, t.lastActivity);
  // Quiet for a quarter of the idle timeout: shed per-connection parser and queue state.
  if (idle >= t.options.idleTimeout / 4 && !t.reading) {
    t.connection.releaseIdle();
    if (t.codec !== null && t.pendingSends === null) t.codec.releaseIfIdle();
  }
  if (idle >= t.options.idleTimeout) {
    // RFC 6455 §5.5.2 keepalive failed: the peer is gone or stuck; free its buffers now.
    if (t.error === null) {
      t.error = new Error(`idle timeout: nothing received for ${t.options.idleTimeout} ms`);
      report(t, t.error, false);
    }
    t.terminate();
  } else if (t.options.sendPings !== false && !t.pingOutstanding && idle >= t.options.idleTimeout / 2) {
    t.pingOutstanding = true;
    t.connection.ping();
  }
}
