// Property tests of the Sec-WebSocket-Extensions parser (RFC 6455 §9.1) with fast-check: it
// never throws, returns only well-formed offers, does work linear in its input, round-trips
// with formatExtensionHeader, reads any valid spelling (OWS, empty elements, quoted and
// escaped values) to the same offers, and agrees with the `ws` library's parser on every
// value both accept. Budget: WSX_FUZZ_RUNS runs per property (300 by default; `npm run fuzz`
// sets 20000).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatExtensionHeader, lastParseSteps, parseExtensionHeader, type ExtensionOffer } from "../../src/protocol/extensions/header.js";

const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 300);
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** ws's own parser (lib/extension.js, not in its exports map: loaded by path), for differential testing. */
const requireHere = createRequire(import.meta.url);
const wsExtension = requireHere(join(dirname(requireHere.resolve("ws")), "lib", "extension.js")) as {
  parse(header: string): Record<string, Array<Record<string, Array<string | true>>>>;
};

const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const owsArb = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 2 });
const headerCharArb = fc.constantFrom("a", "b", "x", "-", "_", "1", ",", ",", ";", ";", "=", "=", " ", "\t", '"', '"', "\\", "@", "\r", "\n", "\u0000", "é", "\u{1f600}");
const headerTextArb = fc.oneof(fc.string({ unit: headerCharArb, maxLength: 80 }), fc.string({ maxLength: 60 }), fc.string({ unit: "binary", maxLength: 40 }));

/** Well-formed offers: lowercase names (the parser lowercases), values tokens or bare. */
const offersArb: fc.Arbitrary<ExtensionOffer[]> = fc.array(
  fc
    .tuple(
      tokenArb.map((s) => s.toLowerCase()),
      fc.array(fc.tuple(tokenArb.map((s) => s.toLowerCase()), fc.oneof(fc.constant<true>(true), tokenArb)), { maxLength: 4 }),
    )
    .map(([name, params]) => ({ name, params: params.map(([n, value]) => ({ name: n, value })) })),
  { minLength: 1, maxLength: 5 },
);

/** Writes `offers` in a random but valid spelling: OWS, empty elements, quoted and escaped values, upper case names. */
function spell(offers: ExtensionOffer[], choices: number[]): string {
  let i = 0;
  const pick = (n: number): number => choices[i++ % choices.length] % n;
  const ows = (): string => ["", " ", "\t", "  "][pick(4)];
  const upper = (s: string): string => (pick(3) === 0 ? s.toUpperCase() : s);
  const value = (v: string): string => {
    switch (pick(3)) {
      case 0:
        return v;
      case 1:
        return `"${v}"`;
      default:
        return `"${[...v].map((c) => (pick(2) === 0 ? `\\${c}` : c)).join("")}"`; // RFC 7230 quoted-pair
    }
  };
  return offers
    .map((offer) => {
      let text = upper(offer.name);
      for (const p of offer.params) {
        text += `${ows()};${ows()}${upper(p.name)}`;
        if (p.value !== true) text += `${ows()}=${ows()}${value(p.value)}`;
      }
      return ows() + ",".repeat(pick(3) === 0 ? 1 : 0) + text + ows();
    })
    .join(",");
}

describe("fuzz: parseExtensionHeader (RFC 6455 §9.1)", () => {
  test("any input: never throws; null or well-formed offers; at most 4 steps per character", () => {
    fc.assert(
      fc.property(headerTextArb, (value) => {
        const offers = parseExtensionHeader(value);
        const steps = lastParseSteps();
        assert.ok(steps <= 4 * value.length + 4, `${steps} steps for ${value.length} characters`);
        if (offers === null) return;
        assert.ok(offers.length > 0, "1#extension: at least one");
        for (const offer of offers) {
          assert.match(offer.name, TOKEN_RE);
          assert.equal(offer.name, offer.name.toLowerCase());
          for (const p of offer.params) {
            assert.match(p.name, TOKEN_RE);
            if (p.value !== true) assert.match(p.value, TOKEN_RE, "RFC 6455 §9.1: values are tokens, quoted or not");
          }
        }
        // What parses formats to a canonical value that parses to the same offers.
        assert.deepEqual(parseExtensionHeader(formatExtensionHeader(offers)), offers);
      }),
      { numRuns: RUNS },
    );
  });

  test("format then parse is the identity on well-formed offers", () => {
    fc.assert(
      fc.property(offersArb, (offers) => {
        const text = formatExtensionHeader(offers);
        assert.ok(!/[\r\n]/.test(text));
        assert.deepEqual(parseExtensionHeader(text), offers);
      }),
      { numRuns: RUNS },
    );
  });

  test("any valid spelling (OWS, empty elements, quoted/escaped values, any case) parses to the same offers", () => {
    fc.assert(
      fc.property(offersArb, fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 }), (offers, choices) => {
        const text = spell(offers, choices);
        assert.deepEqual(parseExtensionHeader(text), offers, text);
      }),
      { numRuns: RUNS },
    );
  });

  test("work is linear: a value repeated k times costs at most k times the steps of one copy, plus a constant", () => {
    fc.assert(
      fc.property(headerTextArb, fc.integer({ min: 2, max: 40 }), (value, k) => {
        const once = value + ",";
        parseExtensionHeader(once.repeat(k));
        assert.ok(lastParseSteps() <= 4 * once.length * k + 4, `${lastParseSteps()} steps for ${once.length * k} characters`);
      }),
      { numRuns: RUNS },
    );
  });

  test("formatExtensionHeader refuses what is not a token (no header injection) with a TypeError only", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (name, value) => {
        const offers: ExtensionOffer[] = [{ name: name.toLowerCase(), params: [{ name: "p", value }] }];
        const valid = TOKEN_RE.test(name) && TOKEN_RE.test(value);
        if (valid) assert.equal(formatExtensionHeader(offers), `${name.toLowerCase()}; p=${value}`);
        else assert.throws(() => formatExtensionHeader(offers), TypeError);
      }),
      { numRuns: RUNS },
    );
  });

  test("agrees with the ws library's parser on every value both accept", () => {
    fc.assert(
      fc.property(fc.oneof(headerTextArb, fc.tuple(offersArb, fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 })).map(([o, c]) => spell(o, c))), (value) => {
        let theirs: ReturnType<typeof wsExtension.parse>;
        try {
          theirs = wsExtension.parse(value);
        } catch {
          return; // ws refuses it; wsx may differ (e.g. it tolerates empty list elements, RFC 7230 §7)
        }
        const ours = parseExtensionHeader(value);
        if (Object.keys(theirs).length === 0) return; // ws reads "" as no extensions; wsx as null
        assert.notEqual(ours, null, `ws accepts ${JSON.stringify(value)}, wsx does not`);
        // Group ours like ws does (name → offers, each param name → values), in Maps: names
        // such as "__proto__" must stay plain data.
        type Grouped = Map<string, Array<Map<string, Array<string | true>>>>;
        const grouped: Grouped = new Map();
        for (const offer of ours!) {
          const params = new Map<string, Array<string | true>>();
          for (const p of offer.params) params.set(p.name, [...(params.get(p.name) ?? []), p.value]);
          grouped.set(offer.name, [...(grouped.get(offer.name) ?? []), params]);
        }
        const lower: Grouped = new Map();
        for (const name of Object.keys(theirs)) {
          for (const offer of theirs[name]) {
            const params = new Map<string, Array<string | true>>();
            for (const p of Object.keys(offer)) params.set(p.toLowerCase(), [...(params.get(p.toLowerCase()) ?? []), ...offer[p]]);
            lower.set(name.toLowerCase(), [...(lower.get(name.toLowerCase()) ?? []), params]);
          }
        }
        assert.deepEqual(grouped, lower, JSON.stringify(value));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: extension header regressions (inputs found while fuzzing)", () => {
  test('"__proto__" and "constructor" as extension and parameter names are plain data', () => {
    assert.deepEqual(parseExtensionHeader("__proto__; constructor=__proto__, constructor"), [
      { name: "__proto__", params: [{ name: "constructor", value: "__proto__" }] },
      { name: "constructor", params: [] },
    ]);
    assert.equal(({} as Record<string, unknown>).constructor, Object, "nothing leaked onto Object.prototype");
  });

  test('"#," repeated: 3.5 steps per character (the bound is 4, not 3)', () => {
    const value = "#,".repeat(1000);
    assert.equal(parseExtensionHeader(value)?.length, 1000);
    assert.ok(lastParseSteps() <= 4 * value.length + 4, `${lastParseSteps()} steps`);
  });
});
