// The timer wheel's clock: int32 milliseconds since the module loaded (a small integer V8 keeps
// in a connection's field, not a heap number per connection), and elapsed() correct across its
// wrap after 2^31 ms (24.8 days).
import assert from "node:assert/strict";
import { test } from "node:test";
import { elapsed, readClock } from "../../src/transport/timer-wheel.js";

test("the clock is an int32 count of milliseconds", () => {
  const now = readClock();
  assert.ok(Number.isInteger(now));
  assert.equal(now, now | 0);
  assert.ok(now >= 0, "ms since the module loaded");
});

test("elapsed() subtracts across the int32 wrap", () => {
  assert.equal(elapsed(1500, 1000), 500);
  // 10 ms, the second reading taken after the clock passed 2^31 - 1 and wrapped.
  const before = 2 ** 31 - 5;
  const after = (before + 10) | 0;
  assert.ok(after < 0);
  assert.equal(elapsed(after, before), 10);
  // An idle timeout's worth (120 s) across the wrap.
  assert.equal(elapsed((before + 120_000) | 0, before), 120_000);
});
