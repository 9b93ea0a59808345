// Loss accounting of the Redis adapter without Redis: the envelope's sequence number and the
// counting of skipped numbers (wrapping at 2^32, publisher restarts, duplicates, forgetting).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeEnvelope, encodeEnvelope, ENVELOPE_VERSION } from "../../src/redis/envelope.js";
import { GapTracker, SequenceCounter } from "../../src/redis/sequence-tracker.js";

const node = Buffer.alloc(16, 7);

test("the envelope carries the sequence number; version 1 envelopes still decode, without one", () => {
  const payload = Buffer.from([0, 1, 2, 255]);
  const env = decodeEnvelope(encodeEnvelope(node, payload, true, 2 ** 32 - 1));
  assert.equal(ENVELOPE_VERSION, 2);
  assert.deepEqual(env && { ...env, nodeId: Buffer.from(env.nodeId), payload: Buffer.from(env.payload) }, { nodeId: node, isBinary: true, sequence: 2 ** 32 - 1, payload });
  const v1 = Buffer.concat([Buffer.from([1, 0]), node, Buffer.from("old")]);
  const old = decodeEnvelope(v1);
  assert.equal(old?.sequence, -1);
  assert.equal(old?.payload.toString(), "old");
  assert.equal(decodeEnvelope(Buffer.from([3, 0, 1, 2])), null);
});

test("sequence numbers count per channel and wrap at 2^32", () => {
  const c = new SequenceCounter(2);
  assert.deepEqual([c.take("a"), c.take("a"), c.take("b"), c.take("a")], [0, 1, 0, 2]);
  // A third channel pushes out the oldest ("a"), which starts again from 0.
  assert.equal(c.take("c"), 0);
  assert.equal(c.take("a"), 0);
});

test("skipped numbers are counted per topic and node, across the wrap", () => {
  const g = new GapTracker();
  assert.equal(g.receive("t", "A", 5), 0, "the first message seen is the baseline");
  assert.equal(g.receive("t", "A", 6), 0);
  assert.equal(g.receive("t", "A", 10), 3);
  assert.equal(g.receive("t", "B", 100), 0, "another node has its own numbering");
  assert.equal(g.receive("u", "A", 0), 0, "another topic has its own numbering");
  assert.equal(g.receive("t", "A", 10), 0, "a duplicate is not a loss");
  assert.equal(g.receive("t", "A", 2 ** 32 - 2), 0, "a step back (publisher restarted its numbering) is a new baseline");
  assert.equal(g.receive("t", "A", 1), 2, "2^32-1 and 0 were skipped across the wrap");
  g.forget("t");
  assert.equal(g.receive("t", "A", 50), 0, "after forgetting, the next message is a new baseline");
});

test("the number of nodes remembered per topic is bounded", () => {
  const g = new GapTracker(2);
  g.receive("t", "A", 0);
  g.receive("t", "B", 0);
  g.receive("t", "C", 0);
  // A was forgotten to make room for C: its next message is a baseline, not a gap of 9.
  assert.equal(g.receive("t", "A", 10), 0);
  assert.equal(g.receive("t", "C", 3), 2);
});
