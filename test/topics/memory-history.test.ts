// MemoryHistory: consecutive seqs, the count and age limits, the topic limit, reads by position.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryHistory } from "../../src/server/memory-history.js";
import { formatOffset, newEpoch, parseOffset } from "../../src/server/offset.js";
import { forceGc, retainedBytes, MiB } from "../helpers/memory.js";

test("offsets: format and parse round-trip; malformed ones are refused", () => {
  const e = newEpoch();
  assert.match(e, /^[A-Za-z0-9]+$/);
  assert.deepEqual(parseOffset(formatOffset(e, 42)), { epoch: e, seq: 42 });
  for (const bad of ["", "abc", "a-0", "a-01", "-1", "a_b-1", "a-1.5", "a-99999999999999999", 7, null]) assert.equal(parseOffset(bad), null, String(bad));
});

test("appends get consecutive seqs; reads start after a position or take the last N", async () => {
  const h = new MemoryHistory({ maxCount: 100 });
  for (let i = 1; i <= 10; i++) assert.equal((await h.append("t", String(i))).seq, i);
  const r = await h.read("t", { after: 4 }, 3);
  assert.deepEqual(r.entries.map((e) => e.seq), [5, 6, 7]);
  assert.equal(r.first, 1);
  assert.equal(r.last, 10);
  assert.deepEqual((await h.read("t", { lastN: 2 }, 100)).entries.map((e) => e.data), ["9", "10"]);
  assert.deepEqual((await h.read("t", { after: 10 }, 100)).entries, []);
  const empty = await h.read("other", { after: 0 }, 10);
  assert.deepEqual([empty.first, empty.last, empty.entries.length], [1, 0, 0]);
  assert.equal(r.epoch, h.epoch);
});

test("the count limit keeps the latest maxCount; older positions read from the first kept", async () => {
  const h = new MemoryHistory({ maxCount: 5 });
  for (let i = 1; i <= 12; i++) await h.append("t", String(i));
  assert.equal(h.size("t"), 5);
  const r = await h.read("t", { after: 2 }, 100);
  assert.equal(r.first, 8);
  assert.deepEqual(r.entries.map((e) => e.seq), [8, 9, 10, 11, 12]);
});

test("the age limit drops messages older than maxAgeMs, on append and on read", async () => {
  const h = new MemoryHistory({ maxAgeMs: 1000 });
  let now = 10_000;
  h.now = () => now;
  await h.append("t", "a");
  now += 600;
  await h.append("t", "b");
  now += 600;
  assert.equal(h.size("t"), 1, "a is 1200 ms old");
  const r = await h.read("t", { after: 0 }, 10);
  assert.deepEqual([r.first, r.last, r.entries.map((e) => e.data)], [2, 2, ["b"]]);
  now += 2000;
  const gone = await h.read("t", { after: 0 }, 10);
  assert.deepEqual([gone.first, gone.last, gone.entries.length], [3, 2, 0]);
});

test("past maxTopics the oldest topic's history goes; when it starts again it has a new epoch (seqs never reused)", async () => {
  const h = new MemoryHistory({ maxTopics: 2 });
  const a1 = await h.append("a", "1");
  await h.append("a", "2");
  await h.append("b", "1");
  const c1 = await h.append("c", "1");
  assert.equal(h.size("a"), 0);
  assert.equal(h.size("c"), 1);
  assert.equal(a1.epoch, h.epoch);
  const empty = await h.read("a", { after: 2 }, 10);
  assert.notEqual(empty.epoch, h.epoch, "a reader of the dropped topic sees another epoch");
  const a2 = await h.append("a", "again");
  assert.equal(a2.seq, 1);
  assert.notEqual(a2.epoch, a1.epoch);
  assert.match(a2.epoch, /^[A-Za-z0-9]+$/);
  assert.equal((await h.read("a", { after: 0 }, 10)).epoch, a2.epoch);
  assert.equal((await h.read("c", { after: 0 }, 10)).epoch, c1.epoch, "topics kept keep theirs");
  assert.equal((await h.append("c", "2")).epoch, c1.epoch);
});

test("a flood stays within maxCount × message size", async () => {
  const h = new MemoryHistory({ maxCount: 1000 });
  const msg = JSON.stringify("x".repeat(1000));
  forceGc();
  const before = retainedBytes();
  for (let i = 0; i < 100_000; i++) h.appendNow("t", msg.slice(0, 999) + (i % 10) + '"');
  forceGc();
  const grown = retainedBytes() - before;
  // 1000 entries of ~1 KB (plus the array's dropped half before compaction): a few MB at most,
  // against 100 MB if nothing were dropped.
  assert.ok(grown < 8 * MiB, `retained ${grown} bytes`);
  assert.equal(h.size("t"), 1000);
});
