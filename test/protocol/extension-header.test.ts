/**
 * Sec-WebSocket-Extensions parsing and formatting (RFC 6455 §9.1, RFC 7230 §7).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  formatExtensionHeader,
  lastParseSteps,
  parseExtensionHeader,
  type ExtensionOffer,
} from "../../src/protocol/extensions/header.js";

const pmd = (...params: Array<[string, string | true]>): ExtensionOffer => ({
  name: "permessage-deflate",
  params: params.map(([name, value]) => ({ name, value })),
});

describe("parseExtensionHeader: valid values", () => {
  const cases: Array<[string, ExtensionOffer[]]> = [
    ["permessage-deflate", [pmd()]],
    ["PerMessage-Deflate", [pmd()]],
    ["permessage-deflate; client_max_window_bits", [pmd(["client_max_window_bits", true])]],
    ["permessage-deflate;client_max_window_bits=10", [pmd(["client_max_window_bits", "10"])]],
    ["permessage-deflate ; client_max_window_bits = 10 ", [pmd(["client_max_window_bits", "10"])]],
    ["permessage-deflate\t;\tServer_No_Context_Takeover\t", [pmd(["server_no_context_takeover", true])]],
    ['permessage-deflate; server_max_window_bits="10"', [pmd(["server_max_window_bits", "10"])]],
    ['permessage-deflate; server_max_window_bits = "1\\0"', [pmd(["server_max_window_bits", "10"])]],
    ['x; a="\\a\\b"', [{ name: "x", params: [{ name: "a", value: "ab" }] }]],
    ["x; a=Value", [{ name: "x", params: [{ name: "a", value: "Value" }] }]],
    [
      "permessage-deflate; client_max_window_bits, permessage-deflate",
      [pmd(["client_max_window_bits", true]), pmd()],
    ],
    ["a, b ,c", [{ name: "a", params: [] }, { name: "b", params: [] }, { name: "c", params: [] }]],
    // RFC 7230 §7: empty list elements are tolerated.
    [", a", [{ name: "a", params: [] }]],
    ["a,", [{ name: "a", params: [] }]],
    ["a, , ,b", [{ name: "a", params: [] }, { name: "b", params: [] }]],
    ["  a  ", [{ name: "a", params: [] }]],
    // Duplicates are kept: judging them is the extension's job (RFC 7692 §7.1).
    ["x; p; p=1", [{ name: "x", params: [{ name: "p", value: true }, { name: "p", value: "1" }] }]],
    ["x; !#$%&'*+-.^_`|~09az=!#$%&'*+-.^_`|~", [{ name: "x", params: [{ name: "!#$%&'*+-.^_`|~09az", value: "!#$%&'*+-.^_`|~" }] }]],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      assert.deepEqual(parseExtensionHeader(input), expected);
    });
  }
});

describe("parseExtensionHeader: malformed values return null", () => {
  const cases = [
    "",
    "   ",
    ",",
    " , , ",
    ";",
    "; a",
    "a;",
    "a; ",
    "a;;b",
    "a b",
    "a; b c",
    "a; b=",
    "a; b= ",
    "a; b==1",
    "a; b=1=2",
    "a; =1",
    "a; b=1 2",
    'a; b="',
    'a; b="1',
    'a; b=""',
    'a; b="1 0"',
    'a; b="1,0"',
    'a; b="1;0"',
    'a; b="\\"',
    'a; b="\\ "',
    'a; b="x"y',
    'a; b=x"y"',
    '"a"',
    "a; b=\u00e9",
    "\u00e9",
    "a\r\n; b",
    "a,\nb",
    "a; b=1\u0000",
    "a/b",
    "a; b/c",
    "(a)",
  ];
  for (const input of cases) {
    it(JSON.stringify(input), () => {
      assert.equal(parseExtensionHeader(input), null);
    });
  }
});

describe("formatExtensionHeader", () => {
  it("formats names, valueless and valued parameters", () => {
    assert.equal(
      formatExtensionHeader([pmd(["server_no_context_takeover", true], ["client_max_window_bits", "10"]), { name: "x", params: [] }]),
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x",
    );
    assert.equal(formatExtensionHeader([]), "");
  });

  it("refuses what is not a token (no header injection, RFC 6455 §9.1)", () => {
    assert.throws(() => formatExtensionHeader([{ name: "a b", params: [] }]), TypeError);
    assert.throws(() => formatExtensionHeader([{ name: "", params: [] }]), TypeError);
    assert.throws(() => formatExtensionHeader([{ name: "a", params: [{ name: "b\r\nX-Evil: 1", value: true }] }]), TypeError);
    assert.throws(() => formatExtensionHeader([{ name: "a", params: [{ name: "b", value: "1 0" }] }]), TypeError);
    assert.throws(() => formatExtensionHeader([{ name: "a", params: [{ name: "b", value: "" }] }]), TypeError);
  });

  it("parse(format(x)) is x for any lowercase offers", () => {
    const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz".split("");
    const token = fc.array(fc.constantFrom(...tchars), { minLength: 1, maxLength: 8 }).map((a) => a.join(""));
    const valueToken = fc.array(fc.constantFrom(...tchars, "A", "Z"), { minLength: 1, maxLength: 8 }).map((a) => a.join(""));
    const param = fc.record({ name: token, value: fc.oneof(fc.constant(true as const), valueToken) });
    const offer = fc.record({ name: token, params: fc.array(param, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(offer, { minLength: 1, maxLength: 5 }), (offers) => {
        // JSON round trip: fast-check records have a null prototype.
        assert.deepEqual(parseExtensionHeader(formatExtensionHeader(offers)), JSON.parse(JSON.stringify(offers)));
      }),
      { seed: 7692, numRuns: 300 },
    );
  });

  it("parsing is insensitive to optional whitespace around separators", () => {
    const base = "permessage-deflate; client_max_window_bits=10; server_no_context_takeover, x";
    const spaced = "\t permessage-deflate \t ;\t client_max_window_bits \t=\t 10 ; server_no_context_takeover\t , \tx \t";
    assert.deepEqual(parseExtensionHeader(spaced), parseExtensionHeader(base));
  });
});

describe("parseExtensionHeader: linear time (counted steps, not wall time)", () => {
  /** Steps of one parse. */
  function steps(input: string): number {
    parseExtensionHeader(input);
    return lastParseSteps();
  }

  // Shapes that hurt backtracking parsers: many elements, many parameters, long tokens, long
  // quoted strings full of escapes, whitespace runs, empty elements, and an error at the very end.
  const shapes: Array<[string, (n: number) => string]> = [
    ["many extensions", (n) => "permessage-deflate; client_max_window_bits, ".repeat(n)],
    ["many parameters", (n) => "x" + "; p=1".repeat(n)],
    ["a long token", (n) => "a".repeat(n * 10)],
    ["a long escaped quoted string", (n) => 'x; p="' + "\\a".repeat(n * 5) + '"'],
    ["whitespace runs", (n) => "a" + " ".repeat(n * 10) + ";" + "\t".repeat(n * 10) + "b"],
    ["empty elements", (n) => ", ".repeat(n * 5) + "a"],
    ["malformed at the end", (n) => "x" + "; p".repeat(n) + ";"],
    ["unterminated quote", (n) => 'x; p="' + "a".repeat(n * 5)],
  ];

  for (const [label, make] of shapes) {
    it(`${label}: steps ≤ 3 per character and doubling the input doubles the work`, () => {
      for (const n of [1_000, 10_000]) {
        const small = make(n);
        const large = make(2 * n);
        const sSmall = steps(small);
        const sLarge = steps(large);
        assert.ok(sSmall <= 3 * small.length + 4, `${sSmall} steps for ${small.length} characters`);
        assert.ok(sLarge <= 3 * large.length + 4, `${sLarge} steps for ${large.length} characters`);
        const ratio = sLarge / sSmall;
        assert.ok(ratio > 1.9 && ratio < 2.1, `doubling the input changed the work by ${ratio}`);
      }
    });
  }

  it("parses a 100,000-element header in one pass", () => {
    const header = "permessage-deflate; client_max_window_bits=15; server_no_context_takeover, ".repeat(100_000);
    const offers = parseExtensionHeader(header);
    assert.ok(offers !== null);
    assert.equal(offers.length, 100_000);
    assert.ok(lastParseSteps() <= 3 * header.length);
    // One bad character at the end still costs one pass.
    assert.equal(parseExtensionHeader(header + "; ="), null);
    assert.ok(lastParseSteps() <= 3 * (header.length + 3));
  });
});
