/**
 * Loss accounting for Redis pub/sub, which delivers at most once and says nothing about what
 * it dropped: each node numbers its messages per channel ({@link SequenceCounter}); each
 * receiver remembers the last number it saw per (topic, publishing node) and counts the
 * numbers it never saw ({@link GapTracker}).
 */

/** Sequence numbers go round at 2^32; a forward step of 2^31 or more is a restart, not a gap. */
const HALF = 2 ** 31;

/** Per-channel sequence numbers of the messages this node publishes. */
export class SequenceCounter {
  private readonly next = new Map<string, number>();

  /** `limit`: channels remembered; past it the oldest one restarts from 0 (receivers treat that as a restart). */
  constructor(private readonly limit = 65_536) {}

  /** The number for the next message to `channel`. */
  take(channel: string): number {
    const n = this.next.get(channel);
    if (n === undefined) {
      if (this.next.size >= this.limit) this.next.delete(this.next.keys().next().value as string);
      this.next.set(channel, 1);
      return 0;
    }
    this.next.set(channel, (n + 1) >>> 0);
    return n;
  }
}

/** Per topic and publishing node, the last sequence number received. */
export class GapTracker {
  private readonly last = new Map<string, Map<string, number>>();

  /** `nodesPerTopic`: publishing nodes remembered per topic (node ids change when a node restarts). */
  constructor(private readonly nodesPerTopic = 1024) {}

  /**
   * Records message `sequence` from `node` on `topic`; returns how many of that node's
   * messages on the topic were skipped since the previous one received (0 for the first
   * message seen, a duplicate, or a publisher that restarted its numbering).
   */
  receive(topic: string, node: string, sequence: number): number {
    let nodes = this.last.get(topic);
    if (nodes === undefined) {
      nodes = new Map();
      this.last.set(topic, nodes);
    }
    const previous = nodes.get(node);
    if (previous === undefined && nodes.size >= this.nodesPerTopic) nodes.delete(nodes.keys().next().value as string);
    nodes.set(node, sequence);
    if (previous === undefined) return 0;
    const step = (sequence - previous) >>> 0;
    return step === 0 || step >= HALF ? 0 : step - 1;
  }

  /** Forgets `topic` (this node stopped listening: what is published meanwhile is not a loss). */
  forget(topic: string): void {
    this.last.delete(topic);
  }
}
