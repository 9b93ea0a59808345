// RFC 8441 §4–§5: the server's checks of an extended CONNECT and its responses, sans I/O.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { extendedConnectRejection, extendedConnectResponse, isExtendedConnect, validateExtendedConnect } from "../../src/protocol/handshake-h2.js";
import type { HeaderMap } from "../../src/protocol/handshake.js";

const GOOD: HeaderMap = {
  ":method": "CONNECT",
  ":protocol": "websocket",
  ":scheme": "https",
  ":path": "/chat?room=1",
  ":authority": "example.com:443",
  "sec-websocket-version": "13",
};

function refusedWith(headers: HeaderMap): HandshakeError {
  try {
    validateExtendedConnect(headers);
  } catch (error) {
    assert.ok(error instanceof HandshakeError);
    return error;
  }
  assert.fail("the request was accepted");
}

describe("RFC 8441 §4–§5: validateExtendedConnect", () => {
  test("a complete request gives authority, path with query, scheme and the RFC 6455 offer", () => {
    const r = validateExtendedConnect({ ...GOOD, origin: "https://a.example", "sec-websocket-protocol": "v1, v2", "sec-websocket-extensions": "permessage-deflate" });
    assert.deepEqual(r, {
      authority: "example.com:443",
      path: "/chat?room=1",
      scheme: "https",
      protocols: ["v1", "v2"],
      extensions: "permessage-deflate",
      origin: "https://a.example",
    });
  });

  test("no key is needed or read (§5: Sec-WebSocket-Key and -Accept are not used)", () => {
    assert.doesNotThrow(() => validateExtendedConnect(GOOD));
    assert.doesNotThrow(() => validateExtendedConnect({ ...GOOD, "sec-websocket-key": "not a key" }));
  });

  test("each missing or wrong piece has its status", () => {
    assert.equal(refusedWith({ ...GOOD, ":method": "GET" }).status, 405);
    assert.deepEqual(refusedWith({ ...GOOD, ":method": "GET" }).headers, { allow: "CONNECT" });
    assert.equal(refusedWith({ ...GOOD, ":protocol": undefined }).status, 400);
    assert.equal(refusedWith({ ...GOOD, ":protocol": "webtransport" }).status, 501);
    assert.equal(refusedWith({ ...GOOD, ":scheme": undefined }).status, 400);
    assert.equal(refusedWith({ ...GOOD, ":path": "" }).status, 400);
    assert.equal(refusedWith({ ...GOOD, ":authority": undefined }).status, 400);
    const version = refusedWith({ ...GOOD, "sec-websocket-version": "8" });
    assert.equal(version.status, 426);
    assert.deepEqual(version.headers, { "Sec-WebSocket-Version": "13" });
    assert.equal(refusedWith({ ...GOOD, "sec-websocket-protocol": "a b" }).status, 400);
  });

  test("`host` stands in for a missing :authority (RFC 9113 §8.3.1)", () => {
    assert.equal(validateExtendedConnect({ ...GOOD, ":authority": undefined, host: "h.example" }).authority, "h.example");
  });

  test("isExtendedConnect routes only CONNECT with :protocol websocket", () => {
    assert.equal(isExtendedConnect(GOOD), true);
    assert.equal(isExtendedConnect({ ...GOOD, ":protocol": "WebSocket" }), true);
    assert.equal(isExtendedConnect({ ...GOOD, ":protocol": undefined }), false);
    assert.equal(isExtendedConnect({ ...GOOD, ":method": "GET" }), false);
  });
});

describe("RFC 8441 §5: responses", () => {
  test("acceptance is :status 200 with the selections, never sec-websocket-accept", () => {
    assert.deepEqual(extendedConnectResponse(), { ":status": 200 });
    assert.deepEqual(extendedConnectResponse("v2", "permessage-deflate"), { ":status": 200, "sec-websocket-protocol": "v2", "sec-websocket-extensions": "permessage-deflate" });
  });

  test("a refusal keeps the error's headers, lower-cased, without the ones HTTP/2 forbids (RFC 9113 §8.2.2)", () => {
    const h = extendedConnectRejection(401, 5, { "WWW-Authenticate": "Bearer", Connection: "close", Upgrade: "websocket", "Keep-Alive": "5", ":status": "200" });
    assert.deepEqual(h, { ":status": 401, "content-type": "text/plain; charset=utf-8", "content-length": 5, "www-authenticate": "Bearer" });
  });
});
