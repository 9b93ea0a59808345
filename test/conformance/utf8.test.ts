// Autobahn group 6 style: UTF-8 handling (RFC 6455 §8.1) over a real loopback socket,
// including fail-fast: the close arrives before the message is complete.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closePayload, encodeFrame, Opcode } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";

const VALID: Array<[string, Buffer]> = [
  ["ASCII", Buffer.from("hello")],
  ["2-byte", Buffer.from("héllo")],
  ["3-byte (κόσμε €)", Buffer.from("κόσμε €")],
  ["4-byte", Buffer.from("𝄞 music 😀")],
  ["boundaries U+007F U+0080 U+07FF U+0800 U+D7FF U+E000 U+FFFF U+10000 U+10FFFF", Buffer.from("\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\u{10000}\u{10ffff}")],
];

const INVALID: Array<[string, Buffer]> = [
  ["lone continuation byte", Buffer.from([0x80])],
  ["overlong NUL (c0 80)", Buffer.from([0xc0, 0x80])],
  ["overlong 3-byte", Buffer.from([0xe0, 0x80, 0xaf])],
  ["overlong 4-byte", Buffer.from([0xf0, 0x80, 0x80, 0xaf])],
  ["surrogate U+D800", Buffer.from([0xed, 0xa0, 0x80])],
  ["surrogate U+DFFF", Buffer.from([0xed, 0xbf, 0xbf])],
  ["U+110000", Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ["lead byte f5", Buffer.from([0xf5, 0x80, 0x80, 0x80])],
  ["byte ff", Buffer.from([0x61, 0xff])],
  ["truncated 3-byte at the end", Buffer.from([0x61, 0xe2, 0x82])],
  ["truncated 4-byte at the end", Buffer.from([0xf0, 0x9f, 0x98])],
];

// The same cases over TCP and over an HTTP/2 stream (RFC 8441).
for (const transport of TRANSPORTS) {
  describe(`conformance: UTF-8 (RFC 6455 §8.1) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    for (const [name, bytes] of VALID) {
      test(`valid ${name}: echoed unchanged, in one frame and in 1-byte fragments`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        c.sendFrame({ opcode: Opcode.TEXT, payload: bytes });
        assert.ok((await c.nextFrame()).payload.equals(bytes));
        for (let i = 0; i < bytes.length; i++) {
          c.sendFrame({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: bytes.subarray(i, i + 1), fin: i === bytes.length - 1 });
        }
        const f = await c.nextFrame();
        assert.equal(f.opcode, Opcode.TEXT);
        assert.ok(f.payload.equals(bytes));
      });
    }

    for (const [name, bytes] of INVALID) {
      test(`invalid ${name}: 1007, in one frame and in 1-byte fragments`, async (t) => {
        const one = await openClientOver(transport, t, server.port);
        one.sendFrame({ opcode: Opcode.TEXT, payload: bytes });
        await one.expectClose(1007);
        const frag = await openClientOver(transport, t, server.port);
        for (let i = 0; i < bytes.length; i++) {
          frag.sendFrame({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: bytes.subarray(i, i + 1), fin: i === bytes.length - 1 });
        }
        await frag.expectClose(1007);
      });
    }

    test("fail fast across fragments: the close arrives before the final fragment is sent", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "κόσμε", fin: false });
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from([0x61, 0xed, 0xa0, 0x80]), fin: false });
      // The final fragment is never sent; the close must come anyway.
      await c.expectClose(1007);
    });

    test("fail fast inside one frame: the close arrives before the rest of the frame is sent", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const payload = Buffer.alloc(10_000, 0x61);
      payload[50] = 0xff;
      const frame = encodeFrame({ opcode: Opcode.TEXT, payload });
      c.write(frame.subarray(0, 200)); // the header and the first ~186 payload bytes, including the bad one
      await c.expectClose(1007);
    });

    test("a sequence split across fragments is valid when completed", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const euro = Buffer.from("€"); // e2 82 ac
      c.sendFrame({ opcode: Opcode.TEXT, payload: euro.subarray(0, 1), fin: false });
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: euro.subarray(1, 2), fin: false });
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: euro.subarray(2) });
      assert.equal((await c.nextFrame()).payload.toString(), "€");
    });

    test("binary messages may hold any bytes", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const bytes = Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80, 0xc0]);
      c.sendFrame({ opcode: Opcode.BINARY, payload: bytes });
      assert.ok((await c.nextFrame()).payload.equals(bytes));
    });

    test("a close reason that is not UTF-8 is 1007", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from([0xce, 0xba, 0xe1, 0xbd])]) });
      await c.expectClose(1007);
    });
  });
}
