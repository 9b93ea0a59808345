import assert from "node:assert/strict";
import { test } from "node:test";
import { connectRaw, Opcode } from "../helpers/raw-client.js";
import { connectRawH2 } from "../helpers/raw-h2-client.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { selfSignedCert } from "../helpers/certs.js";

test("smoke h2c + h1", async (t) => {
  const server = await startEchoServer(t, { http2: true });
  const c = await connectRawH2(server.port, { t });
  c.sendText("hello h2");
  const f = await c.nextFrame();
  assert.equal(f.payload.toString(), "hello h2");
  const h1 = await connectRaw(server.port, { t });
  h1.sendText("hello h1");
  assert.equal((await h1.nextFrame()).payload.toString(), "hello h1");
  c.sendClose(1000);
  await c.expectClose(1000);
  h1.sendClose(1000);
  await h1.expectClose(1000);
});

test("smoke tls", async (t) => {
  const { cert, key } = selfSignedCert();
  const server = await startEchoServer(t, { http2: { cert, key } });
  const c = await connectRawH2(server.port, { t, ca: cert });
  c.sendFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(70000, 7) });
  const f = await c.nextFrame();
  assert.equal(f.payload.length, 70000);
  const ws = [...server.wss.clients][0];
  assert.equal(ws.remoteAddress, "127.0.0.1");
  ws.close(4000, "bye");
  await c.expectClose(4000);
  assert.equal(c.rstCode(), 0);
});
