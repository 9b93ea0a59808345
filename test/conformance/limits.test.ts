// RFC 6455 §10.4 over a real socket: maxPayload per frame and across fragments gives 1009,
// decided from the header, before the payload has been sent.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeFrame, Opcode } from "../helpers/raw-client.js";
import { openClient } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";
import { waitUntil } from "./wait.js";

const LIMIT = 1024;

describe("conformance: limits (maxPayload, RFC 6455 §10.4)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer({ maxPayload: LIMIT });
  });
  after(() => server.stop());

  test("a message of exactly maxPayload bytes is echoed", async (t) => {
    const c = await openClient(t, server.port);
    const payload = Buffer.alloc(LIMIT, 0x61);
    c.sendFrame({ opcode: Opcode.BINARY, payload });
    assert.ok((await c.nextFrame()).payload.equals(payload));
  });

  test("one frame over the limit: 1009 after only its header was sent", async (t) => {
    const c = await openClient(t, server.port);
    const frame = encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(LIMIT + 1) });
    c.write(frame.subarray(0, frame.length - (LIMIT + 1))); // header only
    await c.expectClose(1009);
    await waitUntil(() => server.closes.some((e) => e.code === 1009), "the close handler with 1009");
  });

  test("a frame announcing 2^53-1 bytes: 1009 at once", async (t) => {
    const c = await openClient(t, server.port);
    c.write(Buffer.from([0x82, 0x80 | 127, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    await c.expectClose(1009);
  });

  test("fragments adding up to more than the limit: 1009 at the fragment that crosses it", async (t) => {
    const c = await openClient(t, server.port);
    c.sendFrame({ opcode: Opcode.TEXT, payload: Buffer.alloc(600, 0x61), fin: false });
    const second = encodeFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(600, 0x62) });
    c.write(second.subarray(0, second.length - 600)); // its header only; no final fragment ever
    await c.expectClose(1009);
  });

  test("fragments adding up to exactly the limit are echoed", async (t) => {
    const c = await openClient(t, server.port);
    c.sendFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(LIMIT - 24, 1), fin: false });
    c.sendFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(24, 2) });
    assert.equal((await c.nextFrame()).payload.length, LIMIT);
  });

  test("control frames between fragments do not count towards the limit", async (t) => {
    const c = await openClient(t, server.port);
    c.sendFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(LIMIT - 1, 1), fin: false });
    c.sendFrame({ opcode: Opcode.PING, payload: Buffer.alloc(125) });
    c.sendFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(1, 2) });
    assert.equal((await c.nextFrame()).opcode, Opcode.PONG);
    assert.equal((await c.nextFrame()).payload.length, LIMIT);
  });
});
