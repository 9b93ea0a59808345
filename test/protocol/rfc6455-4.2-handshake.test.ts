// RFC 6455 §4: handshake helpers, pure.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { computeAccept, isValidKey, parseTokenList, validateUpgradeRequest, validateUpgradeResponse } from "../../src/protocol/handshake.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const good = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": KEY, "sec-websocket-version": "13" };

function status(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    assert.ok(e instanceof HandshakeError);
    return e.status;
  }
}

describe("RFC 6455 §4 handshake", () => {
  test("the RFC's example: key → accept", () => {
    assert.equal(computeAccept(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  test("keys must be 24 base64 characters ending in ==", () => {
    assert.ok(isValidKey(KEY));
    for (const bad of [undefined, "", "abc", KEY.slice(0, 23) + "A", "!" + KEY.slice(1), Buffer.alloc(17).toString("base64")]) assert.equal(isValidKey(bad), false, String(bad));
  });

  test("token lists: OWS, empty elements, case kept; non-tokens rejected", () => {
    assert.deepEqual(parseTokenList(" a ,b,\t,C "), ["a", "b", "C"]);
    assert.equal(parseTokenList("a b"), null);
    assert.equal(parseTokenList("a;b"), null);
    assert.deepEqual(parseTokenList(""), []);
  });

  test("request checks with the statuses of §4.2.1 and §4.4", () => {
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", good)), 0);
    assert.equal(status(() => validateUpgradeRequest("POST", "1.1", good)), 405);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.0", good)), 400);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", { ...good, upgrade: "h2c" })), 400);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", { ...good, connection: "close" })), 400);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", { ...good, "sec-websocket-version": "12" })), 426);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", { ...good, "sec-websocket-key": "short" })), 400);
    assert.equal(status(() => validateUpgradeRequest("GET", "1.1", { ...good, "sec-websocket-protocol": "a,b c" })), 400);
    const r = validateUpgradeRequest("GET", "2.0", { ...good, "sec-websocket-protocol": "x, y", origin: "http://o" });
    assert.deepEqual(r.protocols, ["x", "y"]);
    assert.equal(r.origin, "http://o");
  });

  test("a 426 carries Sec-WebSocket-Version: 13", () => {
    try {
      validateUpgradeRequest("GET", "1.1", { ...good, "sec-websocket-version": "8" });
      assert.fail("no error");
    } catch (e) {
      assert.equal((e as HandshakeError).headers["Sec-WebSocket-Version"], "13");
    }
  });

  test("response checks (client side)", () => {
    const ok = { upgrade: "websocket", connection: "upgrade", "sec-websocket-accept": computeAccept(KEY) };
    assert.deepEqual(validateUpgradeResponse(101, ok, KEY, []), { protocol: "", extensions: "" });
    assert.equal(status(() => validateUpgradeResponse(200, ok, KEY, [])), 200);
    assert.ok(status(() => validateUpgradeResponse(101, { ...ok, "sec-websocket-accept": "x" }, KEY, [])) > 0);
    assert.ok(status(() => validateUpgradeResponse(101, { ...ok, upgrade: undefined }, KEY, [])) > 0);
    assert.ok(status(() => validateUpgradeResponse(101, { ...ok, "sec-websocket-protocol": "zzz" }, KEY, ["a"])) > 0);
    assert.equal(validateUpgradeResponse(101, { ...ok, "sec-websocket-protocol": "a" }, KEY, ["a"]).protocol, "a");
  });
});
