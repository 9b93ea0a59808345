// RFC 6455 §4.1, §4.2: the opening handshake checks, as pure functions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import {
  acceptResponse,
  computeAccept,
  isToken,
  isValidKey,
  parseTokenList,
  rejectResponse,
  tokenListIncludes,
  validateUpgradeRequest,
  validateUpgradeResponse,
  type HeaderMap,
} from "../../src/protocol/handshake.js";

/** RFC 6455 §1.3 / §4.2.2: the example key and its accept value. */
const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const GOOD: HeaderMap = { host: "example.com", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": RFC_KEY, "sec-websocket-version": "13" };

/** Runs `fn`; returns the HandshakeError it threw (fails if it threw something else or nothing). */
function rejection(fn: () => unknown): HandshakeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HandshakeError, `expected a HandshakeError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the handshake to be rejected");
}

describe("RFC 6455 §4.2.2 Sec-WebSocket-Accept", () => {
  test("the RFC's example key gives the RFC's accept value", () => {
    assert.equal(computeAccept(RFC_KEY), RFC_ACCEPT);
  });

  test("acceptResponse is a 101 with Upgrade, Connection, the accept value and the chosen protocol", () => {
    const head = acceptResponse(RFC_KEY, "chat", "permessage-deflate");
    assert.ok(head.startsWith("HTTP/1.1 101 Switching Protocols\r\n"));
    assert.ok(head.endsWith("\r\n\r\n"));
    assert.match(head, /\r\nUpgrade: websocket\r\n/);
    assert.match(head, /\r\nConnection: Upgrade\r\n/);
    assert.match(head, new RegExp(`\\r\\nSec-WebSocket-Accept: ${RFC_ACCEPT.replace(/[+]/g, "\\+")}\\r\\n`));
    assert.match(head, /\r\nSec-WebSocket-Protocol: chat\r\n/);
    assert.match(head, /\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
    assert.doesNotMatch(acceptResponse(RFC_KEY), /Sec-WebSocket-Protocol/);
  });

  test("rejectResponse carries the status, the extra headers and a matching Content-Length", () => {
    const r = rejectResponse(426, "ünsupported", { "Sec-WebSocket-Version": "13" });
    assert.ok(r.startsWith("HTTP/1.1 426 Upgrade Required\r\n"));
    assert.match(r, /\r\nSec-WebSocket-Version: 13\r\n/);
    const [head, body] = r.split("\r\n\r\n");
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}`));
  });
});

describe("RFC 6455 §4.2.1 validateUpgradeRequest", () => {
  test("a valid request gives the key, the offered protocols in order, extensions and origin", () => {
    const r = validateUpgradeRequest("GET", "1.1", { ...GOOD, "sec-websocket-protocol": "chat.v2, chat.v1", "sec-websocket-extensions": "permessage-deflate", origin: "https://a.example" });
    assert.deepEqual(r, { key: RFC_KEY, protocols: ["chat.v2", "chat.v1"], extensions: "permessage-deflate", origin: "https://a.example" });
    assert.deepEqual(validateUpgradeRequest("GET", "1.1", GOOD).protocols, []);
  });

  test("the method must be GET (405 with Allow: GET)", () => {
    for (const method of ["POST", "HEAD", "get", undefined]) {
      const e = rejection(() => validateUpgradeRequest(method, "1.1", GOOD));
      assert.equal(e.status, 405, String(method));
      assert.equal(e.headers["Allow"], "GET");
    }
  });

  test("HTTP/1.1 or later (400 for 1.0 and 0.9)", () => {
    for (const v of ["1.0", "0.9"]) assert.equal(rejection(() => validateUpgradeRequest("GET", v, GOOD)).status, 400, v);
    for (const v of ["1.1", "2.0"]) assert.doesNotThrow(() => validateUpgradeRequest("GET", v, GOOD), v);
  });

  test("Upgrade and Connection are case-insensitive token lists", () => {
    for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET", "h2c, websocket", " websocket ,foo"]) {
      assert.doesNotThrow(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, upgrade }), upgrade);
    }
    for (const connection of ["Upgrade", "upgrade", "keep-alive, Upgrade", "UPGRADE,close", ["keep-alive", "Upgrade"]]) {
      assert.doesNotThrow(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, connection }), String(connection));
    }
    for (const upgrade of [undefined, "", "h2c", "websocket2", "web socket", "websocket/13 x"]) {
      assert.equal(rejection(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, upgrade })).status, 400, String(upgrade));
    }
    for (const connection of [undefined, "", "keep-alive", "upgraded", "Upgrade;x"]) {
      assert.equal(rejection(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, connection })).status, 400, String(connection));
    }
  });

  test("a version other than 13 is 426 with Sec-WebSocket-Version: 13 (§4.4)", () => {
    for (const version of [undefined, "", "8", "12", "14", "13, 8", "thirteen"]) {
      const e = rejection(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, "sec-websocket-version": version }));
      assert.equal(e.status, 426, String(version));
      assert.equal(e.headers["Sec-WebSocket-Version"], "13");
    }
  });

  test("the key must be base64 of 16 bytes (400 otherwise)", () => {
    for (const key of [undefined, "", "short", Buffer.alloc(15).toString("base64"), Buffer.alloc(17).toString("base64"), RFC_KEY.slice(0, 23), `${RFC_KEY.slice(0, 22)}=A`, `!${RFC_KEY.slice(1)}`, `${RFC_KEY}, ${RFC_KEY}`]) {
      assert.equal(rejection(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, "sec-websocket-key": key })).status, 400, String(key));
      assert.equal(isValidKey(key), false, String(key));
    }
    for (let i = 0; i < 50; i++) {
      const key = Buffer.from(Array.from({ length: 16 }, (_, j) => (i * 37 + j * 11) & 0xff)).toString("base64");
      assert.ok(isValidKey(key), key);
      assert.equal(Buffer.from(key, "base64").length, 16);
    }
  });

  test("Sec-WebSocket-Protocol must be a token list (400 otherwise)", () => {
    for (const bad of ["a b", "a;b", "chat,v1 v2", "ä", '"quoted"']) {
      assert.equal(rejection(() => validateUpgradeRequest("GET", "1.1", { ...GOOD, "sec-websocket-protocol": bad })).status, 400, bad);
    }
    assert.deepEqual(validateUpgradeRequest("GET", "1.1", { ...GOOD, "sec-websocket-protocol": ["a, b", "c"] }).protocols, ["a", "b", "c"]);
  });
});

describe("RFC 7230 token lists", () => {
  test("OWS and empty elements are tolerated, case is kept, non-tokens fail the list", () => {
    assert.deepEqual(parseTokenList(" a ,b,\t,C "), ["a", "b", "C"]);
    assert.deepEqual(parseTokenList(""), []);
    assert.deepEqual(parseTokenList(",,,"), []);
    assert.equal(parseTokenList("a b"), null);
    assert.equal(parseTokenList("a;b"), null);
    assert.ok(isToken("!#$%&'*+-.^_`|~09azAZ"));
    for (const bad of ["", "a b", "(", ")", "/", ":", "=", "@", "[", "{", "\"", "\u00e9"]) assert.equal(isToken(bad), false, JSON.stringify(bad));
    assert.ok(tokenListIncludes("Foo, UPGRADE", "upgrade"));
    assert.equal(tokenListIncludes(undefined, "upgrade"), false);
    assert.equal(tokenListIncludes("upgrade x", "upgrade"), false);
  });
});

describe("RFC 6455 §4.1 validateUpgradeResponse (client side)", () => {
  const OK: HeaderMap = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-accept": RFC_ACCEPT };

  test("a correct 101 gives the selected protocol and extensions", () => {
    assert.deepEqual(validateUpgradeResponse(101, OK, RFC_KEY, []), { protocol: "", extensions: "" });
    assert.deepEqual(validateUpgradeResponse(101, { ...OK, upgrade: "WebSocket", connection: "keep-alive, upgrade", "sec-websocket-protocol": "b", "sec-websocket-extensions": "x" }, RFC_KEY, ["a", "b"]), {
      protocol: "b",
      extensions: "x",
    });
  });

  test("any status but 101 fails with that status", () => {
    for (const status of [200, 301, 400, 403, 426, 500]) assert.equal(rejection(() => validateUpgradeResponse(status, OK, RFC_KEY, [])).status, status);
  });

  test("a missing or wrong Upgrade, Connection or Sec-WebSocket-Accept fails", () => {
    for (const bad of [
      { ...OK, upgrade: undefined },
      { ...OK, upgrade: "h2c" },
      { ...OK, connection: undefined },
      { ...OK, connection: "close" },
      { ...OK, "sec-websocket-accept": undefined },
      { ...OK, "sec-websocket-accept": computeAccept("AAAAAAAAAAAAAAAAAAAAAA==") },
      { ...OK, "sec-websocket-accept": RFC_ACCEPT.toLowerCase() },
    ]) {
      assert.equal(rejection(() => validateUpgradeResponse(101, bad, RFC_KEY, [])).status, 101, JSON.stringify(bad));
    }
  });

  test("a subprotocol that was not offered fails (§4.1 step 6)", () => {
    rejection(() => validateUpgradeResponse(101, { ...OK, "sec-websocket-protocol": "zzz" }, RFC_KEY, ["a"]));
    rejection(() => validateUpgradeResponse(101, { ...OK, "sec-websocket-protocol": "a" }, RFC_KEY, []));
  });
});
