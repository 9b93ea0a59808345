// RFC 6455 §5.2-§5.3 end to end: payload length encodings, masking rules, echo byte-exact.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectRaw, rawFrame } from "../support/raw-peer.js";
import { startEchoServer, type EchoServer } from "../support/echo-server.js";

describe("framing (RFC 6455 §5.2)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(() => server.close());

  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 300_000]) {
    test(`binary message of ${size} bytes echoes byte-exact with the minimal length form`, async () => {
      const peer = await connectRaw(server.port);
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
      peer.send({ opcode: 0x2, payload });
      const f = await peer.nextFrame();
      assert.ok(f);
      assert.equal(f.opcode, 0x2);
      assert.equal(f.fin, true);
      assert.equal(f.masked, false, "RFC 6455 §5.1: a server must not mask");
      assert.ok(f.payload.equals(payload));
      peer.destroy();
    });
  }

  test("a non-minimal length form (16-bit for 5 bytes, 64-bit for 200) is accepted", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "hello", lengthForm: 16 });
    peer.send({ opcode: 0x1, payload: "x".repeat(200), lengthForm: 64 });
    assert.equal((await peer.nextFrame())!.payload.toString(), "hello");
    assert.equal((await peer.nextFrame())!.payload.toString(), "x".repeat(200));
    peer.destroy();
  });

  test("frames written one byte at a time are parsed", async () => {
    const peer = await connectRaw(server.port);
    const bytes = Buffer.concat([rawFrame({ opcode: 0x1, payload: "slow" }), rawFrame({ opcode: 0x2, payload: Buffer.alloc(300, 9) })]);
    for (const b of bytes) {
      peer.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal((await peer.nextFrame())!.payload.toString(), "slow");
    assert.ok((await peer.nextFrame())!.payload.equals(Buffer.alloc(300, 9)));
    peer.destroy();
  });

  test("many frames in one write are all echoed in order", async () => {
    const peer = await connectRaw(server.port);
    const frames = [];
    for (let i = 0; i < 200; i++) frames.push(rawFrame({ opcode: 0x1, payload: `m${i}` }));
    peer.write(Buffer.concat(frames));
    for (let i = 0; i < 200; i++) assert.equal((await peer.nextFrame())!.payload.toString(), `m${i}`);
    peer.destroy();
  });

  test("an unmasked client frame is a protocol error (1002)", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "no mask", mask: false });
    const { code } = await peer.readUntilClose();
    assert.equal(code, 1002);
    await peer.waitEnd();
  });

  test("a 64-bit length with the most significant bit set is a protocol error (1002)", async () => {
    const peer = await connectRaw(server.port);
    peer.write(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]));
    const { code } = await peer.readUntilClose();
    assert.equal(code, 1002);
    await peer.waitEnd();
  });
});
