// RFC 6455 §8.1: text must be valid UTF-8 (else 1007), checked as bytes arrive (fail fast).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closePayload, connectRaw } from "../support/raw-peer.js";
import { startEchoServer, type EchoServer } from "../support/echo-server.js";

const VALID: Array<[string, Buffer]> = [
  ["ASCII", Buffer.from("hello")],
  ["2-byte", Buffer.from("héllo")],
  ["3-byte", Buffer.from("κόσμε €")],
  ["4-byte", Buffer.from("𝄞 music")],
  ["U+FFFF and U+10FFFF", Buffer.from([0xef, 0xbf, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf])],
];

const INVALID: Array<[string, Buffer]> = [
  ["lone continuation byte", Buffer.from([0x80])],
  ["overlong 2-byte NUL", Buffer.from([0xc0, 0x80])],
  ["overlong 3-byte", Buffer.from([0xe0, 0x80, 0xaf])],
  ["overlong 4-byte", Buffer.from([0xf0, 0x80, 0x80, 0xaf])],
  ["surrogate U+D800", Buffer.from([0xed, 0xa0, 0x80])],
  ["surrogate U+DFFF", Buffer.from([0xed, 0xbf, 0xbf])],
  ["above U+10FFFF", Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ["0xF5 lead byte", Buffer.from([0xf5, 0x80, 0x80, 0x80])],
  ["0xFF byte", Buffer.from([0x61, 0xff])],
  ["truncated 3-byte at the end", Buffer.from([0x61, 0xe2, 0x82])],
];

describe("UTF-8 handling (RFC 6455 §8.1)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(() => server.close());

  for (const [name, bytes] of VALID) {
    test(`valid ${name}: echoed unchanged, whole and split into 1-byte fragments`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode: 0x1, payload: bytes });
      assert.ok((await peer.nextFrame())!.payload.equals(bytes));
      for (let i = 0; i < bytes.length; i++) {
        peer.send({ opcode: i === 0 ? 0x1 : 0x0, payload: bytes.subarray(i, i + 1), fin: i === bytes.length - 1 });
      }
      assert.ok((await peer.nextFrame())!.payload.equals(bytes));
      peer.destroy();
    });
  }

  for (const [name, bytes] of INVALID) {
    test(`invalid ${name}: 1007`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode: 0x1, payload: bytes });
      assert.equal((await peer.readUntilClose()).code, 1007);
      await peer.waitEnd();
    });
  }

  test("truncated sequence split across fragments, completed correctly, is valid", async () => {
    const peer = await connectRaw(server.port);
    const euro = Buffer.from("€"); // e2 82 ac
    peer.send({ opcode: 0x1, payload: euro.subarray(0, 1), fin: false });
    peer.send({ opcode: 0x0, payload: euro.subarray(1, 2), fin: false });
    peer.send({ opcode: 0x0, payload: euro.subarray(2) });
    assert.equal((await peer.nextFrame())!.payload.toString(), "€");
    peer.destroy();
  });

  test("fail fast: an invalid first fragment is rejected before the message is finished", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: Buffer.from([0x61, 0xed, 0xa0, 0x80]), fin: false });
    // The final fragment is never sent: the close must come anyway.
    assert.equal((await peer.readUntilClose()).code, 1007);
  });

  test("fail fast inside one frame: the close arrives before the frame's payload is complete", async () => {
    const peer = await connectRaw(server.port);
    const bad = Buffer.alloc(1000, 0x61);
    bad[10] = 0xff;
    const bytes = (await import("../support/raw-peer.js")).rawFrame({ opcode: 0x1, payload: bad });
    peer.write(bytes.subarray(0, 100)); // header + 92 payload bytes, including the bad byte
    assert.equal((await peer.readUntilClose()).code, 1007);
  });

  test("a close reason with invalid UTF-8 is 1007", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd])) });
    assert.equal((await peer.readUntilClose()).code, 1007);
  });
});
