// Autobahn group 7 style: the close handshake (RFC 6455 §5.5.1, §7) over a real loopback socket.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closePayload, Opcode } from "../helpers/raw-client.js";
import { SendStatus } from "../../src/server/send-status.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";
import { waitUntil } from "./wait.js";

const VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

/** The single open server-side connection. */
async function onlyClient(server: EchoServer): Promise<ServerWebSocket<unknown>> {
  await waitUntil(() => server.wss.clients.size === 1, "one server-side connection");
  return [...server.wss.clients][0];
}

// The same cases over TCP and over an HTTP/2 stream (RFC 8441): frames do not depend on the carrier.
for (const transport of TRANSPORTS) {
  describe(`conformance: close (RFC 6455 §5.5.1, §7.4) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    for (const code of VALID) {
      test(`close ${code} with a reason: the code is echoed, the server closes TCP first, the handler sees both`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        const reason = `bye ${code} ✓`;
        c.sendClose(code, reason);
        // reply: false — we never send anything more nor close: the server must end TCP itself.
        await c.expectClose(code, { reply: false });
        await waitUntil(() => server.closes.some((e) => e.code === code && e.reason === reason), `the close handler with ${code}`);
      });
    }

    for (const code of INVALID) {
      test(`close ${code} is a protocol error: 1002`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        c.sendClose(code);
        await c.expectClose(1002);
      });
    }

    test("an empty close frame is answered with an empty close frame; the handler sees 1005", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const before = server.closes.filter((e) => e.code === 1005).length;
      c.sendClose();
      const f = await c.nextFrame();
      assert.equal(f.opcode, Opcode.CLOSE);
      assert.equal(f.payload.length, 0);
      await c.closed();
      await waitUntil(() => server.closes.filter((e) => e.code === 1005).length > before, "the close handler with 1005");
    });

    test("a 1-byte close payload is 1002", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03]) });
      await c.expectClose(1002);
    });

    test("a 123-byte reason (the most that fits) is accepted", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendClose(1000, "r".repeat(123));
      await c.expectClose(1000, { reply: false });
    });

    test("frames after the client's close are ignored; nothing follows the server's close frame", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendClose(1000);
      c.sendText("after close");
      c.sendFrame({ opcode: Opcode.PING, payload: "after close" });
      const { skipped } = await c.expectClose(1000, { reply: false });
      assert.deepEqual(skipped, []);
    });

    test("a message echoed before the close arrives first, then the close", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendText("last words");
      c.sendClose(1000);
      const { skipped } = await c.expectClose(1000, { reply: false });
      assert.deepEqual(skipped.map((f) => f.payload.toString()), ["last words"]);
    });

    test("server-initiated close: code and reason sent, the client's answer completes it, the server closes TCP", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const ws = await onlyClient(server);
      ws.close(4001, "server says bye");
      assert.equal(ws.send("too late"), SendStatus.Dropped, "no data after our close frame");
      const { skipped, reason } = await c.expectClose(4001); // replies 4001, then awaits TCP close
      assert.deepEqual(skipped, []);
      assert.equal(reason, "server says bye");
      await waitUntil(() => server.closes.some((e) => e.code === 4001 && e.reason === ""), "the close handler with the client's 4001");
    });

    test("close() refuses codes that may not be sent and reasons over 123 bytes", async (t) => {
      await openClientOver(transport, t, server.port);
      const ws = await onlyClient(server);
      for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) assert.throws(() => ws.close(code), RangeError, `code ${code}`);
      assert.throws(() => ws.close(1000, "x".repeat(124)), RangeError);
      assert.throws(() => ws.close(1000, "é".repeat(62)), RangeError, "124 UTF-8 bytes");
    });
  });

  describe(`conformance: close timeout (RFC 6455 §7.1.1) over ${transport}`, () => {
    test("a client that never answers the close frame is dropped after closeTimeout; the handler sees 1006", async (t) => {
      const server = await startEchoServer(serverOptionsFor(transport, { closeTimeout: 200 }));
      t.after(() => server.stop());
      const c = await openClientOver(transport, t, server.port);
      const ws = await onlyClient(server);
      ws.close(1000, "closing");
      // We never answer. The default close timeout is 5000 ms; allow less than that.
      await c.expectClose(1000, { reply: false, timeoutMs: 3000 });
      await waitUntil(() => server.closes.length === 1, "the close handler");
      assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
      assert.equal(server.wss.clients.size, 0);
    });
  });
}
