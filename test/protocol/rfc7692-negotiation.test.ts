/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1): server choice, client offer, client check.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import {
  acceptClientResponse,
  clientOffer,
  negotiateServer,
  PERMESSAGE_DEFLATE,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from "../../src/protocol/extensions/permessage-deflate.js";

const DEFAULTS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

function params(overrides: Partial<DeflateParams> = {}): DeflateParams {
  return { ...DEFAULTS, ...overrides };
}

/** Server options that keep context takeover unless the client asks otherwise (the pre-0.2 default). */
const TAKEOVER: PerMessageDeflateOptions = { serverNoContextTakeover: false, clientNoContextTakeover: false };

describe("negotiateServer: default answer", () => {
  it("adds server_no_context_takeover and client_no_context_takeover unasked (RFC 7692 §7.1.1)", () => {
    const result = negotiateServer("permessage-deflate; client_max_window_bits", {});
    assert.ok(result !== null);
    assert.equal(result.response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    assert.deepEqual(result.params, params({ serverNoContextTakeover: true, clientNoContextTakeover: true }));
  });
  it("keeps each direction's context when told to, unless the client asks", () => {
    assert.equal(negotiateServer("permessage-deflate", { serverNoContextTakeover: false })?.response, "permessage-deflate; client_no_context_takeover");
    assert.equal(negotiateServer("permessage-deflate", { clientNoContextTakeover: false })?.response, "permessage-deflate; server_no_context_takeover");
    assert.equal(negotiateServer("permessage-deflate; server_no_context_takeover", TAKEOVER)?.response, "permessage-deflate; server_no_context_takeover");
  });
});

describe("negotiateServer: one offer, each parameter (context takeover allowed)", () => {
  // [offer, server options (over TAKEOVER), expected response, expected params]
  const cases: Array<[string, PerMessageDeflateOptions, string, DeflateParams]> = [
    ["permessage-deflate", {}, "permessage-deflate", params()],
    ["permessage-deflate; client_max_window_bits", {}, "permessage-deflate", params()],
    ["permessage-deflate; client_max_window_bits=10", {}, "permessage-deflate; client_max_window_bits=10", params({ clientMaxWindowBits: 10 })],
    ["permessage-deflate; client_max_window_bits", { clientMaxWindowBits: 9 }, "permessage-deflate; client_max_window_bits=9", params({ clientMaxWindowBits: 9 })],
    ["permessage-deflate; client_max_window_bits=12", { clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10", params({ clientMaxWindowBits: 10 })],
    ["permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: 12 }, "permessage-deflate; client_max_window_bits=9", params({ clientMaxWindowBits: 9 })],
    ["permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: true }, "permessage-deflate; client_max_window_bits=9", params({ clientMaxWindowBits: 9 })],
    // false: never narrow; unanswered, the client may use 15 bits (RFC 7692 §7.1.2.2).
    ["permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: false }, "permessage-deflate", params()],
    // RFC 7692 §7.1.2.2: not offered, so not answered, whatever the server prefers.
    ["permessage-deflate", { clientMaxWindowBits: 10 }, "permessage-deflate", params()],
    ["permessage-deflate; server_max_window_bits=10", {}, "permessage-deflate; server_max_window_bits=10", params({ serverMaxWindowBits: 10 })],
    ["permessage-deflate; server_max_window_bits=15", {}, "permessage-deflate; server_max_window_bits=15", params()],
    ["permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 9 }, "permessage-deflate; server_max_window_bits=9", params({ serverMaxWindowBits: 9 })],
    ["permessage-deflate; server_max_window_bits=9", { serverMaxWindowBits: 12 }, "permessage-deflate; server_max_window_bits=9", params({ serverMaxWindowBits: 9 })],
    // RFC 7692 §7.1.2.1: the server MAY name its window unasked.
    ["permessage-deflate", { serverMaxWindowBits: 11 }, "permessage-deflate; server_max_window_bits=11", params({ serverMaxWindowBits: 11 })],
    ["permessage-deflate", { serverMaxWindowBits: 15 }, "permessage-deflate", params()],
    ["permessage-deflate; server_max_window_bits=8", {}, "permessage-deflate; server_max_window_bits=8", params({ serverMaxWindowBits: 8 })],
    // RFC 7692 §7.1.1.1: an offered server_no_context_takeover is accepted by echoing it.
    ["permessage-deflate; server_no_context_takeover", {}, "permessage-deflate; server_no_context_takeover", params({ serverNoContextTakeover: true })],
    ["permessage-deflate", { serverNoContextTakeover: true }, "permessage-deflate; server_no_context_takeover", params({ serverNoContextTakeover: true })],
    // RFC 7692 §7.1.1.2.
    ["permessage-deflate; client_no_context_takeover", {}, "permessage-deflate; client_no_context_takeover", params({ clientNoContextTakeover: true })],
    ["permessage-deflate", { clientNoContextTakeover: true }, "permessage-deflate; client_no_context_takeover", params({ clientNoContextTakeover: true })],
    [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
      {},
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 8 },
    ],
    // Case-insensitive names, whitespace, quoted values (RFC 6455 §9.1).
    ['PERMESSAGE-DEFLATE ;\tClient_Max_Window_Bits = "11"', {}, "permessage-deflate; client_max_window_bits=11", params({ clientMaxWindowBits: 11 })],
  ];
  for (const [offer, options, response, expected] of cases) {
    it(`${JSON.stringify(offer)} with ${JSON.stringify(options)}`, () => {
      const result = negotiateServer(offer, { ...TAKEOVER, ...options });
      assert.ok(result !== null);
      assert.equal(result.response, response);
      assert.deepEqual(result.params, expected);
    });
  }
});

describe("negotiateServer: declined offers", () => {
  const declined = [
    "",
    "x-webkit-deflate-frame",
    "permessage-deflate; foo",
    "permessage-deflate; foo=1",
    // duplicates (RFC 7692 §7.1)
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits",
    "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
    // values on valueless parameters
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=true",
    'permessage-deflate; server_no_context_takeover="x"',
    // bad window bits (RFC 7692 §7.1.2: 8..15, decimal, no leading zeroes)
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=0",
    "permessage-deflate; server_max_window_bits=-9",
    "permessage-deflate; server_max_window_bits=08",
    "permessage-deflate; server_max_window_bits=10.0",
    "permessage-deflate; server_max_window_bits=abc",
    "permessage-deflate; server_max_window_bits=0x9",
    'permessage-deflate; server_max_window_bits="abc"',
    'permessage-deflate; server_max_window_bits="7"',
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=abc",
    'permessage-deflate; client_max_window_bits="16"',
    "permessage-deflate; client_max_window_bits=1e1",
    // malformed headers decline everything
    "permessage-deflate;",
    "permessage-deflate; client_max_window_bits=",
    'permessage-deflate; client_max_window_bits="1 0"',
    'permessage-deflate; client_max_window_bits=""',
    "permessage-deflate client_max_window_bits",
    "permessage-deflate, permessage-deflate;",
  ];
  for (const offer of declined) {
    it(JSON.stringify(offer), () => {
      assert.equal(negotiateServer(offer, {}), null);
    });
  }
  it("no header", () => {
    assert.equal(negotiateServer(undefined, {}), null);
  });
});

describe("negotiateServer: several offers, the first acceptable one wins (RFC 7692 §5)", () => {
  const cases: Array<[string, string]> = [
    ["permessage-deflate; client_max_window_bits=10, permessage-deflate", "permessage-deflate; client_max_window_bits=10"],
    ["permessage-deflate; foo, permessage-deflate; client_max_window_bits=11", "permessage-deflate; client_max_window_bits=11"],
    ["x-other; a=1, permessage-deflate; server_max_window_bits=20, permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"],
    ["permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=7, permessage-deflate", "permessage-deflate"],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; client_max_window_bits", "permessage-deflate"],
    // Two header lines joined by the HTTP layer.
    ["permessage-deflate; bad, x-other, permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"],
  ];
  for (const [header, response] of cases) {
    it(JSON.stringify(header), () => {
      assert.equal(negotiateServer(header, TAKEOVER)?.response, response);
    });
  }
  it("declines when every offer is unacceptable", () => {
    assert.equal(negotiateServer("permessage-deflate; a, permessage-deflate; server_max_window_bits=99, x-other", {}), null);
  });
});

describe("clientOffer", () => {
  const cases: Array<[PerMessageDeflateOptions, string]> = [
    [{}, "permessage-deflate; client_max_window_bits"],
    [{ clientMaxWindowBits: true }, "permessage-deflate; client_max_window_bits"],
    [{ clientMaxWindowBits: false }, "permessage-deflate"],
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    [{ serverMaxWindowBits: 9, clientMaxWindowBits: false }, "permessage-deflate; server_max_window_bits=9"],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 8 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=8",
    ],
  ];
  for (const [options, offer] of cases) {
    it(JSON.stringify(options), () => {
      assert.equal(clientOffer(options), offer);
    });
  }
});

describe("acceptClientResponse: acceptable answers", () => {
  // [client options, response, expected params]
  const cases: Array<[PerMessageDeflateOptions, string | undefined, DeflateParams | null]> = [
    [{}, undefined, null],
    [{}, "", null],
    [{}, " \t ", null],
    [{}, "permessage-deflate", params()],
    [{}, "Permessage-Deflate", params()],
    [{}, "permessage-deflate; client_max_window_bits=9", params({ clientMaxWindowBits: 9 })],
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10", params({ clientMaxWindowBits: 10 })],
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=8", params({ clientMaxWindowBits: 8 })],
    // The client offered 10: it keeps to 10 even when the server does not answer it.
    [{ clientMaxWindowBits: 10 }, "permessage-deflate", params({ clientMaxWindowBits: 10 })],
    // Unasked server parameters the server MAY add (RFC 7692 §7.1.1.1, §7.1.1.2, §7.1.2.1).
    [{}, "permessage-deflate; server_no_context_takeover", params({ serverNoContextTakeover: true })],
    [{}, "permessage-deflate; client_no_context_takeover", params({ clientNoContextTakeover: true })],
    [{}, "permessage-deflate; server_max_window_bits=11", params({ serverMaxWindowBits: 11 })],
    [{ serverMaxWindowBits: 12 }, "permessage-deflate; server_max_window_bits=12", params({ serverMaxWindowBits: 12 })],
    [{ serverMaxWindowBits: 12 }, "permessage-deflate; server_max_window_bits=8", params({ serverMaxWindowBits: 8 })],
    [{ serverNoContextTakeover: true }, "permessage-deflate; server_no_context_takeover", params({ serverNoContextTakeover: true })],
    [{}, 'permessage-deflate; server_max_window_bits="10"', params({ serverMaxWindowBits: 10 })],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
      "permessage-deflate;server_no_context_takeover;client_no_context_takeover;server_max_window_bits=10;client_max_window_bits=9",
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    ],
  ];
  for (const [options, response, expected] of cases) {
    it(`${JSON.stringify(response)} to ${JSON.stringify(options)}`, () => {
      assert.deepEqual(acceptClientResponse(response, options), expected);
    });
  }
});

describe("acceptClientResponse: answers that fail the connection", () => {
  const cases: Array<[PerMessageDeflateOptions, string]> = [
    [{}, "permessage-deflate;"],
    [{}, ","],
    [{}, "x-webkit-deflate-frame"],
    [{}, "permessage-deflate, x-other"],
    [{}, "permessage-deflate, permessage-deflate"],
    [{}, "permessage-deflate; foo"],
    [{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
    [{}, "permessage-deflate; client_no_context_takeover; client_no_context_takeover"],
    [{}, "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"],
    [{}, "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10"],
    [{}, "permessage-deflate; server_no_context_takeover=1"],
    [{}, "permessage-deflate; client_no_context_takeover=1"],
    [{}, "permessage-deflate; server_max_window_bits"],
    [{}, "permessage-deflate; server_max_window_bits=7"],
    [{}, "permessage-deflate; server_max_window_bits=16"],
    [{}, "permessage-deflate; server_max_window_bits=abc"],
    [{}, 'permessage-deflate; server_max_window_bits="abc"'],
    [{}, "permessage-deflate; server_max_window_bits=010"],
    // RFC 7692 §7.1.2.2: a value is required in a response.
    [{}, "permessage-deflate; client_max_window_bits"],
    [{}, "permessage-deflate; client_max_window_bits=7"],
    [{}, "permessage-deflate; client_max_window_bits=16"],
    // Not offered.
    [{ clientMaxWindowBits: false }, "permessage-deflate; client_max_window_bits=15"],
    // Larger than offered.
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=11"],
    [{ serverMaxWindowBits: 10 }, "permessage-deflate; server_max_window_bits=11"],
    // Requested but not accepted (RFC 7692 §7.1.1.1, §7.1.2.1).
    [{ serverMaxWindowBits: 10 }, "permessage-deflate"],
    [{ serverNoContextTakeover: true }, "permessage-deflate"],
  ];
  for (const [options, response] of cases) {
    it(`${JSON.stringify(response)} to ${JSON.stringify(options)}`, () => {
      assert.throws(
        () => acceptClientResponse(response, options),
        (err: unknown) => err instanceof HandshakeError && err.status === 101 && /permessage-deflate/.test(err.message),
      );
    });
  }
});

describe("options are checked", () => {
  const bad: PerMessageDeflateOptions[] = [
    { serverMaxWindowBits: 7 },
    { serverMaxWindowBits: 16 },
    { serverMaxWindowBits: 10.5 },
    { clientMaxWindowBits: 7 },
    { clientMaxWindowBits: 16 },
    { level: 10 },
    { memLevel: 0 },
    { concurrencyLimit: 0 },
    { threshold: -1 },
  ];
  for (const options of bad) {
    it(JSON.stringify(options), () => {
      assert.throws(() => negotiateServer("permessage-deflate", options), RangeError);
      assert.throws(() => clientOffer(options), RangeError);
      assert.throws(() => acceptClientResponse("permessage-deflate", options), RangeError);
    });
  }
});

describe("both ends agree on the parameters", () => {
  const bools = [undefined, false, true];
  const serverBits = [undefined, 8, 12, 15];
  const clientBits: Array<number | boolean | undefined> = [undefined, true, false, 8, 11, 15];
  it("for every combination of client and server options", () => {
    let checked = 0;
    for (const sNct of bools)
      for (const cNct of bools)
        for (const sBits of serverBits)
          for (const cBits of clientBits) {
            const clientOptions: PerMessageDeflateOptions = {
              serverNoContextTakeover: sNct,
              clientNoContextTakeover: cNct,
              serverMaxWindowBits: sBits,
              clientMaxWindowBits: cBits,
            };
            for (const serverOptions of [{}, { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }, clientOptions] as PerMessageDeflateOptions[]) {
              const offer = clientOffer(clientOptions);
              const negotiated = negotiateServer(offer, serverOptions);
              assert.ok(negotiated !== null, offer);
              assert.ok(negotiated.response.startsWith(PERMESSAGE_DEFLATE));
              const clientParams = acceptClientResponse(negotiated.response, clientOptions);
              assert.deepEqual(clientParams, negotiated.params, `${offer} -> ${negotiated.response}`);
              // What the client asked for holds.
              if (sNct === true) assert.equal(clientParams.serverNoContextTakeover, true);
              if (sBits !== undefined) assert.ok(clientParams.serverMaxWindowBits <= sBits);
              if (typeof cBits === "number") assert.ok(clientParams.clientMaxWindowBits <= cBits);
              checked++;
            }
          }
    assert.equal(checked, 3 * 3 * 4 * 6 * 3);
  });
});
