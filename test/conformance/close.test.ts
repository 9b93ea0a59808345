// RFC 6455 §5.5.1, §7: the close handshake, close codes and reasons, timeouts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closePayload, connectRaw } from "../support/raw-peer.js";
import { startEchoServer, waitFor, type EchoServer } from "../support/echo-server.js";

describe("close handling (RFC 6455 §5.5.1, §7.4)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer();
  });
  after(() => server.close());

  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    test(`valid code ${code} is echoed and the server closes TCP first`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode: 0x8, payload: closePayload(code, "bye") });
      const { code: echoed } = await peer.readUntilClose();
      assert.equal(echoed, code);
      await peer.waitEnd(); // §7.1.1: the server closes the TCP connection
      await waitFor(() => server.closes.some((c) => c.code === code && c.reason === "bye"), 2000, "server close handler");
    });
  }

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    test(`invalid code ${code} is 1002`, async () => {
      const peer = await connectRaw(server.port);
      peer.send({ opcode: 0x8, payload: closePayload(code) });
      assert.equal((await peer.readUntilClose()).code, 1002);
      await peer.waitEnd();
    });
  }

  test("an empty close frame is answered with an empty close frame; the handler sees 1005", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: "" });
    const f = await peer.nextFrame();
    assert.equal(f!.opcode, 0x8);
    assert.equal(f!.payload.length, 0);
    await peer.waitEnd();
    await waitFor(() => server.closes.some((c) => c.code === 1005), 2000, "close 1005");
  });

  test("a 1-byte close payload is 1002", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: Buffer.from([0x03]) });
    assert.equal((await peer.readUntilClose()).code, 1002);
  });

  test("a close reason of 123 bytes is accepted", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: closePayload(1000, "r".repeat(123)) });
    assert.equal((await peer.readUntilClose()).code, 1000);
  });

  test("nothing is sent after the close frame, and data after the peer's close is ignored", async () => {
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x8, payload: closePayload(1000) });
    peer.send({ opcode: 0x1, payload: "after close" });
    const { code } = await peer.readUntilClose();
    assert.equal(code, 1000);
    const next = await peer.nextFrame(2000).catch(() => null);
    assert.equal(next, null, "no frame may follow the close frame");
  });

  test("server-initiated close: the server sends its code, waits for the answer, then closes TCP", async () => {
    const peer = await connectRaw(server.port);
    await waitFor(() => server.wss.clients.size > 0, 2000, "connection");
    for (const ws of server.wss.clients) ws.close(4001, "server says bye");
    const { code, reason } = await peer.readUntilClose();
    assert.equal(code, 4001);
    assert.equal(reason, "server says bye");
    peer.send({ opcode: 0x8, payload: closePayload(4001) });
    await peer.waitEnd();
  });

  test("close(): invalid codes and long reasons are refused with a RangeError", async () => {
    const peer = await connectRaw(server.port);
    await waitFor(() => server.wss.clients.size > 0, 2000, "connection");
    const ws = [...server.wss.clients][0];
    assert.throws(() => ws.close(1005), RangeError);
    assert.throws(() => ws.close(999), RangeError);
    assert.throws(() => ws.close(1000, "x".repeat(124)), RangeError);
    peer.destroy();
  });
});

describe("close timeout (RFC 6455 §7.1.1)", () => {
  test("a peer that never answers the close frame is destroyed after closeTimeout", async () => {
    const server = await startEchoServer({ closeTimeout: 200 });
    const peer = await connectRaw(server.port);
    await waitFor(() => server.wss.clients.size === 1, 2000, "connection");
    for (const ws of server.wss.clients) ws.close(1000);
    assert.equal((await peer.readUntilClose()).code, 1000);
    // We never answer; the server must drop the connection on its own.
    await peer.waitEnd(5000);
    await waitFor(() => server.wss.clients.size === 0, 2000, "cleanup");
    assert.equal(server.closes.at(-1)?.code, 1006);
    await server.close();
  });
});
