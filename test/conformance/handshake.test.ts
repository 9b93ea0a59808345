// RFC 6455 §4.2: the opening handshake on the server side, over real sockets.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectRaw, exchange } from "../support/raw-peer.js";
import { startEchoServer, type EchoServer } from "../support/echo-server.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function request(lines: Record<string, string | undefined>, method = "GET", version = "HTTP/1.1"): string {
  let r = `${method} / ${version}\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(lines)) if (v !== undefined) r += `${k}: ${v}\r\n`;
  return r + "\r\n";
}

const GOOD = { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13" };

describe("opening handshake (RFC 6455 §4.2)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer({ protocols: ["chat.v2", "chat.v1"] });
  });
  after(() => server.close());

  test("the RFC's sample key gets the RFC's sample accept value", async () => {
    const { head, socket } = await exchange(server.port, request(GOOD));
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(head, /Upgrade: websocket\r\n/i);
    socket.destroy();
  });

  test("Upgrade and Connection are case-insensitive token lists", async () => {
    const { head, socket } = await exchange(server.port, request({ ...GOOD, Upgrade: "WebSocket", Connection: "keep-alive, UPGRADE" }));
    assert.match(head, /^HTTP\/1\.1 101 /);
    socket.destroy();
  });

  const cases: Array<[string, string, RegExp]> = [
    ["missing Upgrade", request({ ...GOOD, Upgrade: undefined }), /^HTTP\/1\.1 (400|426)/],
    ["wrong Upgrade", request({ ...GOOD, Upgrade: "h2c" }), /^HTTP\/1\.1 400/],
    ["missing Connection: Upgrade (a plain request: 426)", request({ ...GOOD, Connection: "keep-alive" }), /^HTTP\/1\.1 (400|426)/],
    ["missing key", request({ ...GOOD, "Sec-WebSocket-Key": undefined }), /^HTTP\/1\.1 400/],
    ["key of 15 bytes", request({ ...GOOD, "Sec-WebSocket-Key": Buffer.alloc(15).toString("base64") }), /^HTTP\/1\.1 400/],
    ["key that is not base64", request({ ...GOOD, "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!==" }), /^HTTP\/1\.1 400/],
    ["version 8", request({ ...GOOD, "Sec-WebSocket-Version": "8" }), /^HTTP\/1\.1 426[^]*Sec-WebSocket-Version: 13/],
    ["missing version", request({ ...GOOD, "Sec-WebSocket-Version": undefined }), /^HTTP\/1\.1 426/],
    ["POST", request(GOOD, "POST"), /^HTTP\/1\.1 (400|405)/],
    ["HTTP/1.0", request(GOOD, "GET", "HTTP/1.0"), /^HTTP\/1\.1 400/],
    ["bad subprotocol token", request({ ...GOOD, "Sec-WebSocket-Protocol": "chat v1" }), /^HTTP\/1\.1 400/],
  ];
  for (const [name, req, expected] of cases) {
    test(`${name} is refused with the right status and the socket is closed`, async () => {
      const { head, socket } = await exchange(server.port, req);
      assert.match(head, expected);
      await new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.resume();
        socket.once("close", () => resolve());
      });
    });
  }

  test("garbage instead of HTTP does not crash the server", async () => {
    const { socket } = await exchange(server.port, "\x00\x01\x02 not http\r\n\r\n");
    socket.destroy();
    const peer = await connectRaw(server.port);
    peer.send({ opcode: 0x1, payload: "alive" });
    assert.equal((await peer.nextFrame())!.payload.toString(), "alive");
    peer.destroy();
  });

  test("subprotocol: the first of the client's offers that the server speaks is selected", async () => {
    const peer = await connectRaw(server.port, { headers: { "Sec-WebSocket-Protocol": "chat.v3, chat.v1, chat.v2" } });
    assert.match(peer.responseHead, /Sec-WebSocket-Protocol: chat\.v1\r\n/);
    peer.destroy();
  });

  test("subprotocol: none in common means no Sec-WebSocket-Protocol header", async () => {
    const peer = await connectRaw(server.port, { headers: { "Sec-WebSocket-Protocol": "other" } });
    assert.doesNotMatch(peer.responseHead, /Sec-WebSocket-Protocol/i);
    peer.destroy();
  });

  test("a plain HTTP request to the server's own HTTP server gets 426", async () => {
    const { head, socket } = await exchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 426/);
    socket.destroy();
  });
});
