// The core refuses to produce an invalid frame (RFC 6455 §5.5, §5.5.1, §7.4): a control payload
// over 125 bytes, a close code that may not be sent, a reason over 123 bytes or without a code
// throw a typed LocalProtocolError and queue nothing. Every layer above relies on this check.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pingClient, WebSocket } from "../../src/client/websocket.js";
import { Connection, type ConnectionHandler } from "../../src/protocol/connection.js";
import { LocalProtocolError } from "../../src/protocol/errors.js";
import { WebSocketServer } from "../../src/server/server.js";

const noop = (): void => {};
const handler: ConnectionHandler = { onMessage: noop, onPing: noop, onPong: noop, onCloseFrame: noop, onProtocolError: noop, onOutput: noop };

function connection(isServer: boolean): Connection {
  return new Connection(handler, { isServer, maxPayload: 1024, maskSource: (b) => b.fill(1) });
}

function refused(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof LocalProtocolError && err instanceof RangeError && err.code === code);
}

describe("RFC 6455 §5.5 and §7.4: the core never emits an invalid frame", () => {
  for (const isServer of [true, false]) {
    const role = isServer ? "server" : "client";
    test(`${role}: ping/pong payloads over 125 bytes are refused, nothing queued; 125 passes`, () => {
      const c = connection(isServer);
      refused(() => c.ping(Buffer.alloc(126)), "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG");
      refused(() => c.pong("x".repeat(126)), "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG");
      // 42 three-byte characters are 126 bytes.
      refused(() => c.ping("€".repeat(42)), "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG");
      assert.equal(c.queuedBytes, 0);
      assert.equal(c.ping(Buffer.alloc(125)), true);
      assert.equal(c.queuedBytes, 2 + 125 + (isServer ? 0 : 4));
    });

    test(`${role}: close codes that may not be sent, long reasons and reasons without a code are refused`, () => {
      const c = connection(isServer);
      for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) refused(() => c.close(code), "WSX_ERR_INVALID_CLOSE_CODE");
      refused(() => c.close(1000, "x".repeat(124)), "WSX_ERR_CLOSE_REASON_TOO_LONG");
      refused(() => c.close(0, "why"), "WSX_ERR_CLOSE_REASON_WITHOUT_CODE");
      assert.equal(c.closeSent, false);
      assert.equal(c.queuedBytes, 0);
      assert.equal(c.close(4999, "x".repeat(123)), true);
    });
  }

  test("server API: ws.ping(126 bytes) and ws.close(1005) throw LocalProtocolError; the connection stays usable", async (t) => {
    const results: string[] = [];
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      message(ws) {
        for (const call of [() => ws.ping(Buffer.alloc(126)), () => ws.pong("x".repeat(200)), () => ws.close(1005)]) {
          try {
            call();
            results.push("ok");
          } catch (err) {
            results.push((err as LocalProtocolError).code);
          }
        }
        ws.send("still open");
      },
    });
    await wss.ready();
    t.after(() => wss.close());
    const ws = new WebSocket(`ws://127.0.0.1:${wss.port}/`);
    t.after(() => ws.close());
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send("go");
    const reply = await new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data)));
    assert.equal(reply, "still open");
    assert.deepEqual(results, ["WSX_ERR_CONTROL_PAYLOAD_TOO_LONG", "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG", "WSX_ERR_INVALID_CLOSE_CODE"]);
  });

  test("client: pingClient with 200 bytes throws instead of making the peer fail the connection with 1002", async (t) => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", message: (ws, data, isBinary) => void ws.send(data, isBinary) });
    await wss.ready();
    t.after(() => wss.close());
    const ws = new WebSocket(`ws://127.0.0.1:${wss.port}/`);
    t.after(() => ws.close());
    await new Promise((resolve) => (ws.onopen = resolve));
    refused(() => pingClient(ws, Buffer.alloc(200)), "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG");
    ws.send("after");
    assert.equal(await new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data))), "after");
  });
});
