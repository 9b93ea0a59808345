/**
 * The process-wide queue of zlib thread-pool jobs (one per `concurrencyLimit`), which bounds the
 * permessage-deflate work running at once, and the FIFO it is built on.
 */

/** A FIFO with O(1) push and shift (Array#shift is O(n) on long queues). */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue, returning what it held. */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** At most `limit` zlib jobs at once; the rest wait in FIFO order. */
export class JobQueue {
  private running = 0;
  private readonly waiting = new Fifo<() => void>();
  private pumping = false;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Runs `start` when a slot is free (maybe now); it must end with exactly one {@link release}. */
  enqueue(start: () => void): void {
    this.waiting.push(start);
    this.pump();
  }

  release(): void {
    this.running--;
    this.pump();
  }

  /** Iterative, so jobs that give their slot back synchronously cannot grow the stack. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    while (this.running < this.limit && this.waiting.length > 0) {
      const start = this.waiting.shift()!;
      this.running++;
      start();
    }
    this.pumping = false;
  }
}

const jobQueues = new Map<number, JobQueue>();

export function jobQueueFor(limit: number): JobQueue {
  let queue = jobQueues.get(limit);
  if (queue === undefined) {
    queue = new JobQueue(limit);
    jobQueues.set(limit, queue);
  }
  return queue;
}
