// RFC 6455 §5.5: ping/pong, control frame limits, reserved bits and opcodes, end to end.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectRaw } from "../support/raw-peer.js";
import { startEchoServer, waitFor, type EchoServer } from "../support/echo-server.js";

describe("ping and pong (RFC 6455 §5.5.2, §5.5.3)", () => {
  let server: EchoServer;
  const pings: Buffer[] = [];
  const pongs: Buffer[] = [];
  before(async () => {
    server = await startEchoServer({ ping: (_ws, d) => void pings.push(Buffer.from(d)), pong: (_ws, d) => void pongs.push(Buffer.from(d)) });
  });
  after(() => server.close());

  for (const size of [0, 1, 125]) {
    test(`a ping with ${size} bytes is answered by a pong with the same payload`, async () => {
      const peer = await connectRaw(server.port);
      const payload = Buffer.alloc(size, 0x5a);
      peer.send({ opcode: 0x9, payload });
      const f = await peer.nextFrame();
      assert.equal(f!.opcode, 0xa);
      assert.ok(f!.payload.equals(payload));
      peer.destroy();
    });
  }

  test("a ping of 126 bytes is a protocol error (1002)", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x9, payload: Buffer.alloc(126) });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });

  test("a fragmented ping is a protocol error (1002)", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x9, payload: "a", fin: false });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });

  test("an unsolicited pong is not answered and the connection stays open", async () => {
    const peer = await connectRaw(server.port);
    const before = pongs.length;
    peer.send({ opcode: 0xa, payload: "unsolicited" });
    peer.send({ opcode: 0x1, payload: "after" });
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x1, "the next frame is the echo, not a pong");
    assert.equal(f!.payload.toString(), "after");
    await waitFor(() => pongs.length === before + 1, 2000, "pong handler");
    peer.destroy();
  });

  test("the ping handler sees the payload", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x9, payload: "seen" });
    await peer.nextFrame();
    await waitFor(() => pings.some((p) => p.toString() === "seen"), 2000, "ping handler");
    peer.destroy();
  });
});

describe("autoPong: false", () => {
  test("pings are not answered", async () => {
    const server = await startEchoServer({ autoPong: false });
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x9, payload: "p" });
    peer.send({ opcode: 0x1, payload: "echo" });
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x1);
    peer.destroy();
    await server.close();
  });
});

describe("reserved bits and opcodes (RFC 6455 §5.2)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(() => server.close());

  for (const bit of ["rsv1", "rsv2", "rsv3"] as const) {
    test(`${bit} set without a negotiated extension is 1002`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode: 0x1, payload: "x", [bit]: true });
      assert.equal((await peer.readUntilClose()).code, 1002);
      await peer.waitEnd();
    });
  }

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    test(`reserved opcode 0x${opcode.toString(16)} is 1002`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode, payload: "" });
      assert.equal((await peer.readUntilClose()).code, 1002);
      await peer.waitEnd();
    });
  }

  test("a reserved opcode after a valid message: the message is echoed first, then 1002", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "ok" });
    peer.send({ opcode: 0x5, payload: "" });
    const { code, frames } = await peer.readUntilClose();
    assert.equal(frames[0].payload.toString(), "ok");
    assert.equal(code, 1002);
  });
});
