// Hostile input after the handshake: every kind of malformed frame, each on its own
// connection and all of them at once. The server fails each connection with the exact close
// code (RFC 6455 §7.4.1), reports the same code to its close handler, closes TCP, throws
// nothing into the event loop, and keeps serving a normal client. Bad handshakes get the
// exact HTTP status.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { closePayload, connectRaw, encodeFrame, Opcode } from "../helpers/raw-client.js";
import { assertStillServes, countUncaught, startEchoServer, waitUntil } from "./harness.js";

const text = (payload: Buffer | string, more: Record<string, unknown> = {}): Buffer => encodeFrame({ opcode: Opcode.TEXT, payload, ...more });
const close = (payload: Buffer): Buffer => encodeFrame({ opcode: Opcode.CLOSE, payload });

/** [what, the bytes the peer sends, the close code the server must fail the connection with]. */
const CASES: Array<[string, Buffer, number]> = [
  // RFC 6455 §8.1: text must be UTF-8 (1007), checked as bytes arrive, across fragments.
  ["0xff in a text message", text(Buffer.from([0x61, 0xff])), 1007],
  ["an overlong encoding (C0 AF)", text(Buffer.from([0xc0, 0xaf])), 1007],
  ["a UTF-16 surrogate (ED A0 80)", text(Buffer.from([0xed, 0xa0, 0x80])), 1007],
  ["a code point above U+10FFFF (F4 90 80 80)", text(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 1007],
  ["a truncated sequence at the end of a text message", text(Buffer.from([0x61, 0xe2, 0x82])), 1007],
  [
    "a sequence broken across fragments",
    Buffer.concat([
      encodeFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.from([0xe2, 0x82]) }),
      encodeFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from([0x28]) }),
    ]),
    1007,
  ],
  // RFC 6455 §5.5.1: the close reason must be UTF-8 too.
  ["invalid UTF-8 in a close reason", close(Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])])), 1007],
  // RFC 6455 §7.4: codes that may not appear on the wire, and a 1-byte close payload.
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code): [string, Buffer, number] => [`close code ${code}`, close(closePayload(code)), 1002]),
  ["a 1-byte close payload", close(Buffer.from([0x03])), 1002],
  // RFC 6455 §5.2: reserved bits without a negotiated extension.
  ["RSV1 without permessage-deflate", text("x", { rsv1: true }), 1002],
  ["RSV2", text("x", { rsv2: true }), 1002],
  ["RSV3", text("x", { rsv3: true }), 1002],
  // RFC 6455 §5.2: reserved opcodes.
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode): [string, Buffer, number] => [`opcode 0x${opcode.toString(16)}`, encodeFrame({ opcode }), 1002]),
  // RFC 6455 §5.4: fragmentation rules.
  ["a continuation frame with no message started", encodeFrame({ opcode: Opcode.CONTINUATION, payload: "x" }), 1002],
  [
    "a new data frame inside a fragmented message",
    Buffer.concat([encodeFrame({ opcode: Opcode.TEXT, fin: false, payload: "a" }), text("b")]),
    1002,
  ],
  // RFC 6455 §5.5: control frames are short and never fragmented.
  ["a ping of 126 bytes", encodeFrame({ opcode: Opcode.PING, payload: Buffer.alloc(126) }), 1002],
  ["a fragmented ping", encodeFrame({ opcode: Opcode.PING, fin: false, payload: "x" }), 1002],
  // RFC 6455 §5.1: clients must mask.
  ["an unmasked frame", text("x", { mask: false }), 1002],
  // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
  ["a 64-bit length with the top bit set", Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]), 1002],
];

describe("hardening: malformed frames", () => {
  for (const [what, bytes, code] of CASES) {
    test(`${what}: close ${code}`, async (t) => {
      const uncaught = countUncaught();
      const server = await startEchoServer(t);
      const peer = await connectRaw(server.port);
      peer.write(bytes);
      const { skipped } = await peer.expectClose(code);
      assert.deepEqual(skipped, [], "nothing was delivered before the close");
      await waitUntil(() => server.closes.length === 1, "the close handler");
      assert.equal(server.closes[0].code, code, "the close handler sees the code the connection was failed with");
      assert.equal(server.messages(), 0);
      await assertStillServes(server.port);
      assert.equal(uncaught(), 0);
    });
  }

  test(`all ${CASES.length} cases at once, 4 rounds, on one server: exact codes, nothing thrown`, async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    for (let round = 0; round < 4; round++) {
      const got = await Promise.all(
        CASES.map(async ([, bytes]) => {
          const peer = await connectRaw(server.port);
          // Split the bytes in two writes, at a different place each round.
          const cut = Math.min(bytes.length, round * 3);
          peer.write(bytes.subarray(0, cut));
          peer.write(bytes.subarray(cut));
          const frame = await peer.nextFrame();
          peer.destroy();
          return frame.opcode === Opcode.CLOSE ? frame.payload.readUInt16BE(0) : -1;
        }),
      );
      assert.deepEqual(
        got,
        CASES.map(([, , code]) => code),
      );
    }
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("valid close codes (1000, 1001, 3000, 4999) with a UTF-8 reason are echoed, not failed", async (t) => {
    const server = await startEchoServer(t);
    for (const code of [1000, 1001, 3000, 4999]) {
      const peer = await connectRaw(server.port);
      peer.sendClose(code, "ça va");
      await peer.expectClose(code, { reply: false });
      peer.destroy();
    }
    await waitUntil(() => server.closes.length === 4, "four close handler calls");
    assert.deepEqual(
      server.closes.map((c) => c.code),
      [1000, 1001, 3000, 4999],
    );
    assert.ok(server.closes.every((c) => c.reason === "ça va"));
  });
});
