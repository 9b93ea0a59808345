// The wsx HTTP/2 client against a third-party RFC 8441 server: Apache httpd's mod_http2
// (`H2WebSockets on`) proxying to a wsx HTTP/1.1 echo server. Cleartext (h2c) and TLS (ALPN
// h2): echo, subprotocol, permessage-deflate end to end, one connection for many sockets,
// and a close code from the backend through the proxy.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { http2PoolState } from "../../src/client/http2-session-pool.js";
import { clientHttpVersion, WebSocket } from "../../src/client/websocket.js";
import type { WebSocketOptions } from "../../src/client/options.js";
import { apacheAvailable, startApacheH2Proxy } from "../helpers/apache.js";
import { requireComponent } from "../helpers/components.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { once, record } from "../client/helpers.js";

const HINT = "apt-get install apache2 (httpd 2.4.58 or later, for H2WebSockets), or run `bash .ci/run`";

function client(t: TestContext, url: string, protocols: string[], options: WebSocketOptions): WebSocket {
  const ws = new WebSocket(url, protocols, { http2: true, ...options });
  t.after(() => {
    if (ws.readyState <= WebSocket.OPEN) ws.close();
  });
  return ws;
}

for (const tls of [false, true]) {
  test(`through Apache httpd over ${tls ? "TLS (ALPN h2)" : "h2c"}: echo, subprotocol, compression, one connection, a backend close`, async (t) => {
    if (!(await requireComponent("apache2", apacheAvailable, t, HINT))) return;
    const backend = await startEchoServer(t, {
      perMessageDeflate: true,
      protocols: ["chat.v1"],
      message: (ws, data, isBinary) => {
        if (!isBinary && data.toString() === "close please") ws.close(4001, "backend says bye");
        else ws.send(data, isBinary);
      },
    });
    const apache = await startApacheH2Proxy(t, backend.port, { tls });
    const options: WebSocketOptions = { perMessageDeflate: true, ca: apache.ca };
    const sockets = Array.from({ length: 5 }, () => client(t, apache.url, ["chat.v1"], options));
    await Promise.all(sockets.map((ws) => once(ws, "open")));
    for (const ws of sockets) {
      assert.equal(clientHttpVersion(ws), "2");
      assert.equal(ws.protocol, "chat.v1");
      assert.match(ws.extensions, /^permessage-deflate/);
    }
    // One HTTP/2 connection to Apache carries all five.
    assert.equal(http2PoolState(`:${apache.port}`).sessions, 1);
    const [first] = sockets;
    first.binaryType = "arraybuffer";
    const text = "through the proxy ".repeat(500);
    const reply = once<MessageEvent>(first, "message");
    first.send(text);
    assert.equal((await reply).data, text);
    const bytes = new Uint8Array(100_000).map((_, i) => i % 253);
    const binary = once<MessageEvent>(first, "message");
    first.send(bytes);
    assert.deepEqual(new Uint8Array((await binary).data as ArrayBuffer), bytes);
    // A close from the backend reaches the client through Apache, code and reason intact.
    const r = record(sockets[1]);
    sockets[1].send("close please");
    const info = await r.closed;
    assert.deepEqual([info.code, info.reason, info.wasClean], [4001, "backend says bye", true]);
    // The others are unaffected.
    const still = once<MessageEvent>(sockets[2], "message");
    sockets[2].send("still here");
    assert.equal((await still).data, "still here");
  });
}
