// Property tests of the opening-handshake checks (RFC 6455 §4.2.1) with fast-check:
// `validateUpgradeRequest` never throws anything but a HandshakeError with a status it
// documents, accepts every valid request and returns what was offered; `parseTokenList`
// (RFC 7230 §7 #token) agrees with a plainly written reference, round-trips token lists and
// does work linear in its input; `isValidKey` accepts exactly 16 bytes in base64.
// Budget: WSX_FUZZ_RUNS runs per property (300 by default; `npm run fuzz` sets 20000).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { HandshakeError } from "../../src/protocol/errors.js";
import { computeAccept, isToken, isValidKey, lastTokenListSteps, parseTokenList, validateUpgradeRequest, type HeaderMap } from "../../src/protocol/handshake.js";

const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 300);
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** An RFC 7230 token. */
const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** OWS (RFC 7230 §3.2.3). */
const owsArb = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 3 });
/** Characters that matter to a token-list parser, and some that do not belong there. */
const listCharArb = fc.constantFrom(...TCHARS.slice(0, 20), "a", "b", ",", ",", " ", "\t", '"', ";", "=", "\r", "\n", "\u0000", "é", "\u{1f600}", "@", "(", "/");
const listTextArb = fc.oneof(fc.string({ unit: listCharArb, maxLength: 80 }), fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 40 }));

/** A reference for RFC 7230 §7 `#token`, written for clarity rather than speed. */
function referenceTokenList(value: string): string[] | null {
  const out: string[] = [];
  for (const element of value.split(",")) {
    const trimmed = element.replace(/^[ \t]+|[ \t]+$/g, "");
    if (trimmed === "") continue; // empty list elements are allowed
    if (!isToken(trimmed)) return null;
    out.push(trimmed);
  }
  return out;
}

/** A token list written with random OWS and empty elements around and between the tokens. */
const writtenListArb = fc
  .array(fc.tuple(tokenArb, owsArb, owsArb, fc.nat({ max: 2 })), { maxLength: 10 })
  .chain((items) =>
    fc.tuple(fc.constant(items.map(([token]) => token)), owsArb).map(([tokens, lead]) => {
      let text = lead;
      items.forEach(([token, before, after, empties], i) => {
        if (i > 0) text += ",";
        text += ",".repeat(empties) + before + token + after;
      });
      return { tokens, text };
    }),
  );

describe("fuzz: parseTokenList (RFC 7230 §7)", () => {
  test("agrees with the reference on any input, never throws, and does at most one step per character", () => {
    fc.assert(
      fc.property(listTextArb, (value) => {
        const got = parseTokenList(value);
        assert.deepEqual(got, referenceTokenList(value));
        assert.ok(lastTokenListSteps() <= value.length + 1, `${lastTokenListSteps()} steps for ${value.length} characters`);
      }),
      { numRuns: RUNS },
    );
  });

  test("token lists written with any OWS and empty elements parse back to the same tokens", () => {
    fc.assert(
      fc.property(writtenListArb, ({ tokens, text }) => {
        assert.deepEqual(parseTokenList(text), tokens);
        // Joined the canonical way, it parses to the same list again.
        assert.deepEqual(parseTokenList(tokens.join(", ")), tokens);
      }),
      { numRuns: RUNS },
    );
  });

  test("work is linear: a list repeated k times costs k times the steps (±1 per copy)", () => {
    fc.assert(
      fc.property(listTextArb, fc.integer({ min: 2, max: 50 }), (value, k) => {
        const once = value + ",";
        parseTokenList(once.repeat(k));
        assert.ok(lastTokenListSteps() <= once.length * k + 1);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: isValidKey (RFC 6455 §4.1: 16 bytes, base64)", () => {
  test("the base64 of any 16 bytes is a valid key, and its accept value is 20 bytes in base64", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const key = Buffer.from(bytes).toString("base64");
        assert.ok(isValidKey(key), key);
        assert.equal(Buffer.from(computeAccept(key), "base64").length, 20);
      }),
      { numRuns: RUNS },
    );
  });

  test("any string isValidKey accepts decodes to exactly 16 bytes; other lengths of data are refused", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...BASE64, "=", " ", "-", "_"), minLength: 20, maxLength: 28 }),
          fc.uint8Array({ minLength: 0, maxLength: 32 }).map((b) => Buffer.from(b).toString("base64")),
          fc.string({ maxLength: 30 }),
        ),
        (key) => {
          if (isValidKey(key)) {
            assert.equal(key.length, 24);
            assert.equal(Buffer.from(key, "base64").length, 16);
            assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
          } else {
            assert.ok(!/^[A-Za-z0-9+/]{22}==$/.test(key), `refused ${key}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** A valid upgrade request and what validateUpgradeRequest must return for it. */
const validRequestArb = fc
  .record({
    key: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("base64")),
    version: fc.constantFrom("1.1", "2.0", "1.2"),
    upgrade: fc.constantFrom("websocket", "WebSocket", "h2c, websocket", " websocket ", "WEBSOCKET"),
    connection: fc.constantFrom("Upgrade", "upgrade", "keep-alive, Upgrade", "Upgrade,close", ["keep-alive", "Upgrade"]),
    protocols: fc.option(writtenListArb, { nil: undefined }),
    extensions: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    origin: fc.option(fc.webUrl(), { nil: undefined }),
    versionHeader: fc.constantFrom("13", " 13", "13 "),
  })
  .map((r) => {
    const headers: HeaderMap = {
      upgrade: r.upgrade,
      connection: r.connection,
      "sec-websocket-key": r.key,
      "sec-websocket-version": r.versionHeader,
    };
    if (r.protocols !== undefined) headers["sec-websocket-protocol"] = r.protocols.text;
    if (r.extensions !== undefined) headers["sec-websocket-extensions"] = r.extensions;
    if (r.origin !== undefined) headers["origin"] = r.origin;
    return { r, headers };
  });

/** Header maps from valid ones with one header removed, replaced by junk, or turned into an array. */
const hostileHeadersArb = fc.tuple(validRequestArb, fc.array(fc.tuple(fc.constantFrom("upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "origin", "host"), fc.oneof(fc.constant(undefined), listTextArb, fc.array(listTextArb, { maxLength: 3 }))), { maxLength: 4 })).map(([{ headers }, edits]) => {
  const out: HeaderMap = { ...headers };
  for (const [name, value] of edits) out[name] = value;
  return out;
});

describe("fuzz: validateUpgradeRequest (RFC 6455 §4.2.1)", () => {
  test("every valid request is accepted with its key, protocols, extensions and origin", () => {
    fc.assert(
      fc.property(validRequestArb, ({ r, headers }) => {
        const got = validateUpgradeRequest("GET", r.version, headers);
        assert.equal(got.key, r.key);
        assert.deepEqual(got.protocols, r.protocols?.tokens ?? []);
        assert.equal(got.extensions, r.extensions);
        assert.equal(got.origin, r.origin);
      }),
      { numRuns: RUNS },
    );
  });

  test("hostile requests: only a HandshakeError with status 400, 405 or 426 is ever thrown", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant("GET"), fc.constantFrom("POST", "get", "CONNECT", ""), fc.string({ maxLength: 8 }), fc.constant(undefined)), fc.oneof(fc.constantFrom("1.1", "1.0", "0.9", "2", "x.y", ""), fc.string({ maxLength: 6 })), hostileHeadersArb, (method, version, headers) => {
        try {
          validateUpgradeRequest(method, version, headers);
        } catch (error) {
          assert.ok(error instanceof HandshakeError, `threw ${String(error)}`);
          assert.ok([400, 405, 426].includes(error.status), `status ${error.status}`);
          if (error.status === 426) assert.equal(error.headers["Sec-WebSocket-Version"], "13"); // RFC 6455 §4.4
          if (error.status === 405) assert.equal(method === "GET", false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("an accepted request always had a valid key and a well-formed protocol list", () => {
    fc.assert(
      fc.property(hostileHeadersArb, (headers) => {
        let ok = true;
        try {
          validateUpgradeRequest("GET", "1.1", headers);
        } catch {
          ok = false;
        }
        if (!ok) return;
        const key = headers["sec-websocket-key"];
        assert.ok(typeof key === "string" ? isValidKey(key) : Array.isArray(key) && isValidKey(key.join(", ")));
        const protocols = headers["sec-websocket-protocol"];
        if (protocols !== undefined) assert.notEqual(parseTokenList(Array.isArray(protocols) ? protocols.join(", ") : protocols), null);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: handshake regressions", () => {
  test("RFC 6455 §1.3 example key gives the documented accept value", () => {
    assert.equal(computeAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});
