// A throw in any user handler is caught at one boundary: reported through `error` (stderr when
// there is none), that connection closed with 1011, its `close` handler run once, and every
// other connection carries on. Before this, a throw in open/message/ping/pong/drain/close took
// the whole process down.
import assert from "node:assert/strict";
import type { Duplex } from "node:stream";
import { describe, test, type TestContext } from "node:test";
import type { ServerHandlers, WebSocketServerOptions } from "../../src/server/options.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { WebSocketServer } from "../../src/server/server.js";
import { WebSocket } from "../../src/client/websocket.js";
import { connectRaw, Opcode, type RawClient } from "../helpers/raw-client.js";

type Which = "open" | "message" | "ping" | "pong" | "drain" | "close";

class Boom extends Error {
  constructor(where: string) {
    super(`boom in ${where}`);
    this.name = "Boom";
  }
}

interface Seen {
  errors: Error[];
  closes: Array<{ code: number }>;
  messages: string[];
}

/** A server whose `which` handler throws for connections that asked for it (path /throw). */
async function startServer(t: TestContext, which: Which, extra: Partial<WebSocketServerOptions<{ throws: boolean }>> = {}) {
  const seen: Seen = { errors: [], closes: [], messages: [] };
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const maybeThrow = (ws: ServerWebSocket<{ throws: boolean }>, where: Which): void => {
    if (ws.data.throws && where === which) throw new Boom(where);
  };
  const handlers: ServerHandlers<{ throws: boolean }> = {
    open(ws) {
      if (ws.data.throws && which === "drain") ws.send(Buffer.alloc(4 * 1024 * 1024));
      maybeThrow(ws, "open");
    },
    message(ws, data, isBinary) {
      seen.messages.push(data.toString());
      if (data.toString() === "throw") maybeThrow(ws, "message");
      ws.send(data, isBinary);
    },
    ping(ws) {
      maybeThrow(ws, "ping");
    },
    pong(ws) {
      maybeThrow(ws, "pong");
    },
    drain(ws) {
      maybeThrow(ws, "drain");
    },
    close(ws, code) {
      seen.closes.push({ code });
      notify();
      maybeThrow(ws, "close");
    },
    error(_ws, error) {
      seen.errors.push(error);
      notify();
    },
  };
  const wss = new WebSocketServer<{ throws: boolean }>({
    port: 0,
    host: "127.0.0.1",
    upgrade: (req) => ({ throws: req.url === "/throw" }),
    ...handlers,
    ...extra,
  });
  await wss.ready();
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await wss.close();
  });
  const until = (ready: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (ready()) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });
  return { wss, port: wss.port, seen, until };
}

async function raw(t: TestContext, port: number, path: string): Promise<RawClient> {
  const c = await connectRaw(port, { path });
  t.after(() => c.destroy());
  return c;
}

/** The honest connection, opened before the failure, still echoes after it. */
async function stillEchoes(c: RawClient): Promise<void> {
  c.sendText("still here");
  const f = await c.nextFrame();
  assert.equal(f.payload.toString(), "still here");
}

describe("hardening: errors thrown by user handlers", () => {
  for (const which of ["open", "message", "ping", "pong", "drain"] as const) {
    test(`a throw in '${which}' closes that connection with 1011, is reported once, and others carry on`, async (t) => {
      const server = await startServer(t, which);
      const honest = await raw(t, server.port, "/");
      const victim = await raw(t, server.port, "/throw");
      if (which === "message") victim.sendText("throw");
      if (which === "ping") victim.sendFrame({ opcode: Opcode.PING, payload: "p" });
      if (which === "pong") victim.sendFrame({ opcode: Opcode.PONG, payload: "p" });
      if (which === "drain") {
        // The 4 MiB sent at open backs up; reading it lets the socket drain.
        const big = await victim.nextFrame();
        assert.equal(big.payload.length, 4 * 1024 * 1024);
      }
      await victim.expectClose(1011, { timeoutMs: 10_000 });
      await server.until(() => server.seen.closes.length === 1);
      assert.deepEqual(server.seen.closes, [{ code: 1011 }], "the close handler ran once, with 1011");
      assert.equal(server.seen.errors.length, 1);
      assert.ok(server.seen.errors[0] instanceof Boom, "the error handler got the thrown error itself");
      await stillEchoes(honest);
    });
  }

  test("a throw in 'message' stops delivery: the rest of the same read is not handled, the connection is closed with 1011", async (t) => {
    const server = await startServer(t, "message");
    const victim = await raw(t, server.port, "/throw");
    // Three messages in one write: the first throws.
    victim.write(Buffer.concat([frame("throw"), frame("second"), frame("third")]));
    await victim.expectClose(1011);
    assert.deepEqual(server.seen.messages, ["throw"]);
  });

  test("a throw in 'message' of a compressed message does not leave the connection paused: 1011, then closed", async (t) => {
    const server = await startServer(t, "message", { perMessageDeflate: { threshold: 0 } });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/throw`, [], { perMessageDeflate: true });
    t.after(() => ws.close());
    await new Promise((resolve) => (ws.onopen = resolve));
    assert.match(ws.extensions, /permessage-deflate/);
    ws.send("throw");
    const close = await new Promise<{ code: number }>((resolve) => (ws.onclose = (e) => resolve(e as unknown as { code: number })));
    assert.equal(close.code, 1011);
    await server.until(() => server.seen.closes.length === 1);
    assert.deepEqual(server.seen.closes, [{ code: 1011 }]);
  });

  test("a throw in 'close' is reported and nothing else happens", async (t) => {
    const server = await startServer(t, "close");
    const honest = await raw(t, server.port, "/");
    const victim = await raw(t, server.port, "/throw");
    victim.sendClose(1000);
    await victim.expectClose(1000);
    await server.until(() => server.seen.errors.length === 1);
    assert.ok(server.seen.errors[0] instanceof Boom);
    assert.deepEqual(server.seen.closes, [{ code: 1000 }]);
    await stillEchoes(honest);
  });

  test("a throw in a 'connection' listener is a handler error too (1011), not an uncaught exception", async (t) => {
    const server = await startServer(t, "message");
    server.wss.on("connection", (ws: ServerWebSocket<{ throws: boolean }>) => {
      if (ws.data.throws) throw new Boom("connection listener");
    });
    const victim = await raw(t, server.port, "/throw");
    await victim.expectClose(1011);
    await server.until(() => server.seen.errors.length === 1);
    assert.ok(server.seen.errors[0] instanceof Boom);
  });

  test("without an error handler the throw goes to stderr (console.error), and the error handler's own throw too", async (t) => {
    const logged: unknown[][] = [];
    t.mock.method(console, "error", (...args: unknown[]) => void logged.push(args));
    const server = await startServer(t, "message", { error: undefined });
    const victim = await raw(t, server.port, "/throw");
    victim.sendText("throw");
    await victim.expectClose(1011);
    await server.until(() => server.seen.closes.length === 1);
    assert.equal(logged.length, 1);
    assert.match(String(logged[0][0]), /handler threw/);
    assert.ok(logged[0][1] instanceof Boom);

    const server2 = await startServer(t, "message", {
      error() {
        throw new Boom("error handler");
      },
    });
    const victim2 = await raw(t, server2.port, "/throw");
    victim2.sendText("throw");
    await victim2.expectClose(1011);
    await server2.until(() => server2.seen.closes.length === 1);
    assert.equal(logged.length, 2);
    assert.match(String(logged[1][0]), /error handler threw/);
  });

  test("a throwing `protocols` function rejects that handshake with 500; the server keeps serving", async (t) => {
    const server = await startServer(t, "message", {
      protocols: () => {
        throw new Boom("protocols");
      },
    });
    const failed = await connectRaw(server.port, { headers: { "Sec-WebSocket-Protocol": "chat" } }).then(
      () => "opened",
      (err: Error) => err.message,
    );
    assert.match(failed, /500/);
    const honest = await raw(t, server.port, "/");
    await stillEchoes(honest);
  });
});

describe("hardening: the error handler hears resets and idle timeouts", () => {
  test("an idle timeout is reported through `error` before the close handler (1006)", async (t) => {
    const server = await startServer(t, "message", { idleTimeout: 400, sendPings: false });
    const c = await raw(t, server.port, "/");
    await server.until(() => server.seen.closes.length === 1);
    assert.equal(server.seen.errors.length, 1);
    assert.match(server.seen.errors[0].message, /idle timeout/);
    assert.deepEqual(server.seen.closes, [{ code: 1006 }]);
    c.destroy();
  });

  test("a TCP reset is reported through `error` (ECONNRESET), then close 1006", async (t) => {
    const server = await startServer(t, "message");
    const c = await raw(t, server.port, "/");
    await stillEchoes(c);
    // Half a frame, then a reset: the server is reading when the RST arrives.
    const [serverSide] = server.wss.clients;
    const read = new Promise((resolve) => (serverSide.transport.socket as Duplex).once("data", resolve));
    c.write(Buffer.from([0x81, 0xfe, 0x10, 0x00]));
    await read;
    (c.socket as Duplex & { resetAndDestroy(): void }).resetAndDestroy();
    await server.until(() => server.seen.closes.length === 1);
    assert.deepEqual(server.seen.closes, [{ code: 1006 }]);
    assert.equal(server.seen.errors.length, 1);
    assert.equal((server.seen.errors[0] as NodeJS.ErrnoException).code, "ECONNRESET");
  });
});

/** A masked text frame. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
