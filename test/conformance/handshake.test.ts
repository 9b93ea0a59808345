// RFC 6455 §4.2 over real sockets: bad opening handshakes get the right HTTP status and the
// socket is closed by the server, which keeps serving.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openClient } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";
import { exchangeUntilClose } from "./http-exchange.js";

const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

type Headers = Record<string, string | undefined>;
const GOOD: Headers = { Host: "127.0.0.1", Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": RFC_KEY, "Sec-WebSocket-Version": "13" };

function request(headers: Headers, requestLine = "GET / HTTP/1.1"): string {
  let r = `${requestLine}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) r += `${name}: ${value}\r\n`;
  return `${r}\r\n`;
}

describe("conformance: opening handshake (RFC 6455 §4.2)", () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer({ protocols: ["chat.v2", "chat.v1"] });
  });
  after(() => server.stop());

  test("the RFC's sample key is answered with 101 and the RFC's accept value", async (t) => {
    const c = await openClient(t, server.port, { headers: { "Sec-WebSocket-Key": RFC_KEY } });
    assert.equal(c.response.status, 101);
    assert.equal(c.response.headers["sec-websocket-accept"], RFC_ACCEPT);
    assert.equal(c.response.headers["upgrade"].toLowerCase(), "websocket");
    assert.equal(c.response.headers["sec-websocket-protocol"], undefined, "no protocol offered, none selected");
  });

  test("Upgrade and Connection are case-insensitive token lists", async (t) => {
    const c = await openClient(t, server.port, { headers: { Upgrade: "WebSocket", Connection: "keep-alive, UPGRADE" } });
    assert.equal(c.response.status, 101);
    c.sendText("works");
    assert.equal((await c.nextFrame()).payload.toString(), "works");
  });

  const bad: Array<[string, string, number, Record<string, string>?]> = [
    ["POST", request(GOOD, "POST / HTTP/1.1"), 405, { allow: "GET" }],
    ["HTTP/1.0", request(GOOD, "GET / HTTP/1.0"), 400],
    ["Upgrade: h2c", request({ ...GOOD, Upgrade: "h2c" }), 400],
    ["Sec-WebSocket-Version: 8", request({ ...GOOD, "Sec-WebSocket-Version": "8" }), 426, { "sec-websocket-version": "13" }],
    ["no Sec-WebSocket-Version", request({ ...GOOD, "Sec-WebSocket-Version": undefined }), 426, { "sec-websocket-version": "13" }],
    ["no Sec-WebSocket-Key", request({ ...GOOD, "Sec-WebSocket-Key": undefined }), 400],
    ["a key of 15 bytes", request({ ...GOOD, "Sec-WebSocket-Key": Buffer.alloc(15).toString("base64") }), 400],
    ["a key that is not base64", request({ ...GOOD, "Sec-WebSocket-Key": "not base64 at all!!!!!==" }), 400],
    ["Sec-WebSocket-Protocol not a token list", request({ ...GOOD, "Sec-WebSocket-Protocol": "chat v2" }), 400],
  ];
  for (const [name, bytes, status, headers] of bad) {
    test(`${name}: HTTP ${status}, then the server closes the connection`, async () => {
      const r = await exchangeUntilClose(server.port, bytes);
      assert.equal(r.status, status, `status for ${name}`);
      for (const [header, value] of Object.entries(headers ?? {})) assert.equal(r.headers[header], value, header);
      assert.ok(r.closedByServer, "the server closed the connection");
    });
  }

  test("a plain HTTP GET gets 426 with Upgrade: websocket and Connection: Upgrade (RFC 7231 §6.5.15)", async () => {
    const r = await exchangeUntilClose(server.port, request({ Host: "127.0.0.1", Connection: "close" }), 2000);
    assert.equal(r.status, 426);
    assert.equal(r.headers["upgrade"], "websocket");
    assert.match(r.headers["connection"] ?? "", /upgrade/i);
  });

  test(
    "a plain HTTP GET with Connection: close is closed after the 426 (RFC 7230 §6.6)",
    {},
    async () => {
      const r = await exchangeUntilClose(server.port, request({ Host: "127.0.0.1", Connection: "close" }), 2000);
      assert.ok(r.closedByServer, "the server closed the connection");
    },
  );

  test("garbage instead of HTTP is answered 400 and closed", async () => {
    const r = await exchangeUntilClose(server.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
    assert.equal(r.status, 400);
    assert.ok(r.closedByServer);
  });

  test("subprotocol: the first one the client offers that the server speaks is selected", async (t) => {
    const c = await openClient(t, server.port, { headers: { "Sec-WebSocket-Protocol": "chat.v3, chat.v1, chat.v2" } });
    assert.equal(c.response.headers["sec-websocket-protocol"], "chat.v1");
    const none = await openClient(t, server.port, { headers: { "Sec-WebSocket-Protocol": "other" } });
    assert.equal(none.response.headers["sec-websocket-protocol"], undefined, "nothing in common: no header");
  });

  test("after every bad request above, the server still accepts and echoes", async (t) => {
    const c = await openClient(t, server.port);
    c.sendText("still alive");
    assert.equal((await c.nextFrame()).payload.toString(), "still alive");
    assert.deepEqual(server.errors, []);
  });
});
