/**
 * Write batching: every connection that queued bytes during the current callback (a socket
 * read, a timer, a publish) is flushed once, right after that callback returns. So a read
 * that carried 16 messages leaves as one socket write, and a burst of publishes reaches each
 * subscriber as one write.
 */

/** Something with queued output to hand to its socket. */
export interface Flushable {
  /** Set while the object waits in the flush list. */
  flushQueued: boolean;
  /** Writes everything queued to the socket. */
  flush(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // Swap lists: a flush may queue more output (rare); it goes in the next round.
  const list = dirty;
  dirty = spare;
  spare = list;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    item.flushQueued = false;
    item.flush();
  }
  list.length = 0;
}

/** Queues `item` to be flushed once the current callback returns. */
export function scheduleFlush(item: Flushable): void {
  if (item.flushQueued) return;
  item.flushQueued = true;
  dirty.push(item);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}
