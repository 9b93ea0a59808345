/**
 * Sends held back to keep message order on a transport: behind a compression still in flight
 * (RFC 7692), behind a fragmented message being sent (RFC 6455 §5.4: its fragments are not
 * interleaved with other data frames), and the close frame behind both.
 */
import type { Transport } from "./transport.js";

/** A send waiting behind a compression in flight (or a reserved fragmented message). */
export interface PendingSend {
  ready: boolean;
  /** Bytes it counts in bufferedAmount until it runs. */
  size: number;
  run: () => void;
}

/** Runs `t`'s queued sends in order, up to the first compression still in flight. */
export function drainPendingSends(t: Transport): void {
  const queue = t.pendingSends;
  if (queue === null) return;
  let i = 0;
  while (i < queue.length && queue[i].ready && !t.sendingReserved) {
    const entry = queue[i++];
    t.pendingBytes -= entry.size;
    entry.run();
  }
  queue.splice(0, i);
  if (queue.length === 0 && !t.sendingReserved) t.pendingSends = null;
}

/** `Transport.reserveSending`: resolves true once everything queued before has gone out. */
export function reserveSending(t: Transport): Promise<boolean> {
  return new Promise((resolve) => {
    if (t.closed || t.connection.closeSent) return resolve(false);
    const take = (): void => {
      const at = t.reserveWaiters?.indexOf(resolve) ?? -1;
      if (at >= 0) t.reserveWaiters!.splice(at, 1);
      t.sendingReserved = true;
      t.pendingSends ??= [];
      resolve(true);
    };
    if (t.pendingSends === null) return take();
    (t.reserveWaiters ??= []).push(resolve);
    t.pendingSends.push({ ready: true, size: 0, run: take });
  });
}
