// The client fails the connection (error, then close 1006) for every wrong handshake answer
// (RFC 6455 §4.1; WHATWG "fail the WebSocket connection"), and never throws from a callback.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { record } from "./helpers.js";

function accept(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** A fake server answering the handshake with `answer(key)`. */
async function fakeServer(answer: (key: string) => string): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      if (!buf.includes("\r\n\r\n")) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(buf)?.[1] ?? "";
      socket.write(answer(key));
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

const ok = (key: string, extra = ""): string =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n${extra}\r\n`;

const cases: Array<[string, (key: string) => string, string[]?]> = [
  ["status 200", () => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
  ["a redirect (not followed)", () => "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"],
  ["status 403", () => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"],
  ["missing Upgrade", (k) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(k)}\r\n\r\n`],
  ["wrong Upgrade", (k) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(k)}\r\n\r\n`],
  ["missing Connection", (k) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${accept(k)}\r\n\r\n`],
  ["wrong Sec-WebSocket-Accept", () => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"],
  ["a subprotocol that was not offered", (k) => ok(k, "Sec-WebSocket-Protocol: other\r\n"), ["chat"]],
  ["a subprotocol when none was offered", (k) => ok(k, "Sec-WebSocket-Protocol: chat\r\n")],
  ["an extension that was not offered", (k) => ok(k, "Sec-WebSocket-Extensions: permessage-deflate\r\n")],
  ["garbage", () => "this is not HTTP\r\n\r\n"],
];

describe("handshake failures", () => {
  let uncaught = 0;
  const onUncaught = (): void => void uncaught++;
  process.on("uncaughtException", onUncaught);

  for (const [name, answer, protocols] of cases) {
    test(`${name}: error, then close 1006`, async () => {
      const { url, server } = await fakeServer(answer);
      const ws = new WebSocket(url, protocols ?? []);
      const r = record(ws);
      const e = await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
      assert.equal(e.wasClean, false);
      assert.equal(ws.readyState, WebSocket.CLOSED);
      server.close();
    });
  }

  test("a server that never answers: handshakeTimeout fails the connection", async () => {
    const { url, server } = await fakeServer(() => "");
    const ws = new WebSocket(url, [], { handshakeTimeout: 200 });
    const r = record(ws);
    await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
    server.close();
  });

  test("a refused connection: error, then close 1006", async () => {
    const { url, server } = await fakeServer(() => "");
    await new Promise<void>((res) => server.close(() => res()));
    const ws = new WebSocket(url);
    const r = record(ws);
    await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
  });

  test("nothing was thrown into the event loop", () => {
    process.removeListener("uncaughtException", onUncaught);
    assert.equal(uncaught, 0);
  });
});
