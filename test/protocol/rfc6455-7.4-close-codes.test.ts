// RFC 6455 §7.4: which close status codes may appear on the wire, checked in the receiver.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloseCode, isValidWireCloseCode } from "../../src/protocol/close-code.js";
import { clientFrame, closeBody, errorCode, feedChunks, feedEverySplit } from "./feed.js";

/**
 * The rule written out from the RFC and the IANA registry: 1000-1003 and 1007-1014 are defined
 * codes that may be sent; 1004 is reserved; 1005, 1006 and 1015 must never be sent; 1016-2999
 * are reserved for future standards; 3000-3999 (registered) and 4000-4999 (private) are usable;
 * 0-999 and 5000 and above are not used.
 */
function specAllows(code: number): boolean {
  if (code < 1000 || code >= 5000) return false;
  if (code >= 3000) return true;
  if (code === 1004 || code === 1005 || code === 1006 || code === 1015) return false;
  return code <= 1014;
}

const INVALID_SAMPLES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
const VALID_SAMPLES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

describe("RFC 6455 §7.4 close codes", () => {
  test("isValidWireCloseCode matches the rule for every 16-bit code", () => {
    for (let code = 0; code <= 0xffff; code++) assert.equal(isValidWireCloseCode(code), specAllows(code), `code ${code}`);
  });

  test("the receiver accepts exactly the sendable codes, for every 16-bit code", () => {
    for (let code = 0; code <= 0xffff; code++) {
      const events = feedChunks([clientFrame({ opcode: 8, payload: closeBody(code) })]);
      assert.equal(events.length, 1);
      const e = events[0];
      if (specAllows(code)) assert.ok(e.type === "close" && e.code === code, `code ${code}: ${JSON.stringify(e)}`);
      else assert.ok(e.type === "error" && e.code === 1002, `code ${code}: ${JSON.stringify(e)}`);
    }
  });

  for (const code of VALID_SAMPLES) {
    test(`code ${code} with a reason is reported as sent, at every split`, () => {
      const events = feedEverySplit(clientFrame({ opcode: 8, payload: closeBody(code, `reason ${code}`) }));
      assert.ok(events[0].type === "close" && events[0].code === code && events[0].reason === `reason ${code}`);
    });
  }

  for (const code of INVALID_SAMPLES) {
    test(`code ${code} is 1002, at every split`, () => {
      assert.equal(errorCode(feedEverySplit(clientFrame({ opcode: 8, payload: closeBody(code) }))), 1002);
    });
  }

  test("CloseCode names carry the registry's values", () => {
    assert.deepEqual(
      [CloseCode.NormalClosure, CloseCode.GoingAway, CloseCode.ProtocolError, CloseCode.UnsupportedData, CloseCode.NoStatusReceived, CloseCode.AbnormalClosure],
      [1000, 1001, 1002, 1003, 1005, 1006],
    );
    assert.deepEqual(
      [CloseCode.InvalidFramePayloadData, CloseCode.PolicyViolation, CloseCode.MessageTooBig, CloseCode.MandatoryExtension, CloseCode.InternalError, CloseCode.TlsHandshake],
      [1007, 1008, 1009, 1010, 1011, 1015],
    );
  });
});
