// RFC 6455 §5.4: fragmented messages, interleaved control frames, illegal sequences.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectRaw } from "../support/raw-peer.js";
import { startEchoServer, type EchoServer } from "../support/echo-server.js";

describe("fragmentation (RFC 6455 §5.4)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(() => server.close());

  test("a text message in three fragments is reassembled", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "frag", fin: false });
    peer.send({ opcode: 0x0, payload: "men", fin: false });
    peer.send({ opcode: 0x0, payload: "ted" });
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x1);
    assert.equal(f!.payload.toString(), "fragmented");
    peer.destroy();
  });

  test("a binary message in 100 one-byte fragments is reassembled", async () => {
    const peer = await connectRaw(server.port);
    const expected = Buffer.alloc(100);
    for (let i = 0; i < 100; i++) {
      expected[i] = i;
      peer.send({ opcode: i === 0 ? 0x2 : 0x0, payload: Buffer.from([i]), fin: i === 99 });
    }
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x2);
    assert.ok(f!.payload.equals(expected));
    peer.destroy();
  });

  test("empty fragments are allowed", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "", fin: false });
    peer.send({ opcode: 0x0, payload: "", fin: false });
    peer.send({ opcode: 0x0, payload: "" });
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x1);
    assert.equal(f!.payload.length, 0);
    peer.destroy();
  });

  test("a ping between fragments is answered at once and the message still arrives", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "a", fin: false });
    peer.send({ opcode: 0x9, payload: "mid" });
    const pong = await peer.nextFrame();
    assert.equal(pong!.opcode, 0xa);
    assert.equal(pong!.payload.toString(), "mid");
    peer.send({ opcode: 0x0, payload: "b" });
    const f = await peer.nextFrame();
    assert.equal(f!.payload.toString(), "ab");
    peer.destroy();
  });

  test("a continuation frame without a message in progress is 1002", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x0, payload: "orphan" });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });

  test("a new data frame inside a fragmented message is 1002", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "a", fin: false });
    peer.send({ opcode: 0x1, payload: "b" });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });

  test("a fragmented close frame is 1002", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]), fin: false });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });
});
