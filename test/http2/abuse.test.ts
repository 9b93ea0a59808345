// Abuse over HTTP/2 (RFC 8441), with an honest connection beside: streams opened and reset
// at once (the "rapid reset" pattern) while the upgrade hook is pending leave nothing behind.
import assert from "node:assert/strict";
import { constants } from "node:http2";
import { test } from "node:test";
import { startEchoServer } from "../helpers/echo-server.js";
import { connectRawH2, openH2Session } from "../helpers/raw-h2-client.js";
import { waitUntil } from "../helpers/time.js";

const STREAMS = 1000;

test(`${STREAMS} extended CONNECTs reset at once while the hook is pending: no connection is left, the honest peer echoes`, async (t) => {
  let calls = 0;
  let settled = 0;
  const server = await startEchoServer(t, {
    http2: { maxConcurrentStreams: STREAMS + 10 },
    upgrade: (req) => {
      calls++;
      if (req.url === "/honest") {
        settled++;
        return undefined;
      }
      // Settles on the next turns of the event loop: by then the stream is gone.
      return new Promise<undefined>((resolve) => setImmediate(() => setImmediate(() => (settled++, resolve(undefined)))));
    },
  });
  const honest = await connectRawH2(server.port, { t, path: "/honest" });
  const attacker = await openH2Session(server.port, { t });
  for (let i = 0; i < STREAMS; i++) {
    const stream = attacker.session.request(
      { ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": `/r${i}`, ":authority": `127.0.0.1:${server.port}`, "sec-websocket-version": "13" },
      { endStream: false },
    );
    stream.on("error", () => {});
    stream.close(constants.NGHTTP2_CANCEL);
  }
  honest.sendText("still served");
  assert.equal((await honest.nextFrame()).payload.toString(), "still served");
  // Every hook that ran has settled, and none of those streams became a connection.
  await waitUntil(() => settled === calls, "every upgrade hook to settle");
  assert.ok(calls > 1, "the reset streams reached the acceptance path");
  assert.equal(server.wss.clients.size, 1, "only the honest WebSocket is open");
  assert.equal(server.opens(), 1);
  honest.sendText("and after");
  assert.equal((await honest.nextFrame()).payload.toString(), "and after");
});
