// RFC 6455 §10.4: implementation limits — maxPayload gives 1009 before bytes are buffered.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connectRaw } from "../support/raw-peer.js";
import { startEchoServer } from "../support/echo-server.js";

describe("limits (RFC 6455 §10.4)", () => {
  test("a message of exactly maxPayload bytes is accepted; one byte more is 1009", async () => {
    const server = await startEchoServer({ maxPayload: 1000 });
    const ok = await connectRaw(server.port);
    ok.send({ opcode: 0x2, payload: Buffer.alloc(1000, 1) });
    assert.equal((await ok.nextFrame())!.payload.length, 1000);
    const big = await connectRaw(server.port);
    big.send({ opcode: 0x2, payload: Buffer.alloc(1001, 1) });
    assert.equal((await big.readUntilClose()).code, 1009);
    ok.destroy();
    await server.close();
  });

  test("a frame header announcing a huge payload is refused at once (no payload sent)", async () => {
    const server = await startEchoServer({ maxPayload: 1 << 20 });
    const peer = await connectRaw(server.port);
    // 64-bit length of 2^40 bytes, mask key, and not one payload byte.
    peer.write(Buffer.from([0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    assert.equal((await peer.readUntilClose()).code, 1009);
    await peer.waitEnd();
    await server.close();
  });

  test("the limit applies across fragments", async () => {
    const server = await startEchoServer({ maxPayload: 100 });
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "a".repeat(60), fin: false });
    peer.send({ opcode: 0x0, payload: "a".repeat(60) });
    assert.equal((await peer.readUntilClose()).code, 1009);
    await server.close();
  });

  test("other connections keep working after one is closed for size", async () => {
    const server = await startEchoServer({ maxPayload: 100 });
    const good = await connectRaw(server.port);
    const bad = await connectRaw(server.port);
    bad.send({ opcode: 0x2, payload: Buffer.alloc(101) });
    assert.equal((await bad.readUntilClose()).code, 1009);
    good.send({ opcode: 0x1, payload: "still here" });
    assert.equal((await good.nextFrame())!.payload.toString(), "still here");
    good.destroy();
    await server.close();
  });
});
