// The HTTP/2 client's pool rules without a network: which sockets may share a session (the
// pool key) and the bounded, expiring map of "no RFC 8441 here" verdicts.
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { FALLBACK_VERDICT_MS, http2PoolState, knownFallback, MAX_FALLBACK_VERDICTS, rememberFallback, sessionKey, type Origin } from "../../src/client/http2-session-pool.js";

const base: Origin = { secure: true, host: "example.com", port: 443, tls: { ca: "PEM-A" } };

test("pool key: scheme, host and port, and the TLS options by content", () => {
  assert.equal(sessionKey(base), sessionKey({ ...base, tls: { ca: Buffer.from("PEM-A") } }));
  assert.equal(sessionKey(base), sessionKey({ ...base, tls: { ca: ["PEM-A"] } }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, tls: { ca: "PEM-B" } }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, tls: { ca: "PEM-A", rejectUnauthorized: false } }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, tls: { ca: "PEM-A", cert: "C", key: "K" } }));
  // A value cannot leak into the next field: "ab"+"" differs from "a"+"b".
  assert.notEqual(sessionKey({ ...base, tls: { cert: "ab", key: "" } }), sessionKey({ ...base, tls: { cert: "a", key: "b" } }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, port: 8443 }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, host: "example.org" }));
  // Cleartext ignores TLS options; IPv6 hosts are bracketed.
  assert.equal(sessionKey({ secure: false, host: "::1", port: 80, tls: { ca: "x" } }), "http://[::1]:80");
});

test("verdicts: at most MAX_FALLBACK_VERDICTS, the oldest forgotten first", () => {
  const before = http2PoolState("verdict-test").verdicts;
  assert.equal(before, 0);
  for (let i = 0; i < MAX_FALLBACK_VERDICTS + 100; i++) rememberFallback(`http://verdict-test-${i}:80`);
  assert.ok(http2PoolState().verdicts <= MAX_FALLBACK_VERDICTS);
  assert.equal(knownFallback("http://verdict-test-0:80"), false);
  assert.equal(knownFallback("http://verdict-test-99:80"), false);
  assert.equal(knownFallback(`http://verdict-test-${MAX_FALLBACK_VERDICTS + 99}:80`), true);
});

test(`verdicts expire after ${FALLBACK_VERDICT_MS} ms`, () => {
  mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
  try {
    rememberFallback("http://expiring:80");
    assert.equal(knownFallback("http://expiring:80"), true);
    mock.timers.tick(FALLBACK_VERDICT_MS - 1);
    assert.equal(knownFallback("http://expiring:80"), true);
    mock.timers.tick(1);
    assert.equal(knownFallback("http://expiring:80"), false);
    assert.equal(http2PoolState("expiring").verdicts, 0);
  } finally {
    mock.timers.reset();
  }
});
