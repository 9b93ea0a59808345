// Autobahn group 5 style: fragmentation (RFC 6455 §5.4) over a real loopback socket.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Opcode } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";
import { waitUntil } from "./wait.js";


// The same cases over TCP and over an HTTP/2 stream (RFC 8441).
for (const transport of TRANSPORTS) {
  describe(`conformance: fragmentation (RFC 6455 §5.4) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    for (const [kind, opcode] of [["text", Opcode.TEXT], ["binary", Opcode.BINARY]] as const) {
      test(`a ${kind} message in 2 fragments (sent apart) is echoed whole`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        const base = server.bytesRead();
        const first = c.sendFrame({ opcode, payload: "fragment1", fin: false });
        // Apart: the second fragment is sent only once the server has read the first.
        await waitUntil(() => server.bytesRead() >= base + first.length, "the server to read the first fragment");
        c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "fragment2" });
        const f = await c.nextFrame();
        assert.equal(f.opcode, opcode);
        assert.equal(f.payload.toString(), "fragment1fragment2");
      });
    }

    test("a message in 1000 one-byte fragments, with empty fragments, is echoed whole", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const message = Buffer.alloc(1000);
      for (let i = 0; i < message.length; i++) message[i] = 0x41 + (i % 26);
      for (let i = 0; i < message.length; i++) {
        c.sendFrame({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: message.subarray(i, i + 1), fin: false });
        if (i % 100 === 0) c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "", fin: false });
      }
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "" });
      const f = await c.nextFrame();
      assert.ok(f.payload.equals(message));
    });

    test("a ping and a pong between fragments: the pong answers first, then the whole message", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "a", fin: false });
      c.sendFrame({ opcode: Opcode.PONG, payload: "ignored" });
      c.sendFrame({ opcode: Opcode.PING, payload: "p" });
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "b" });
      const first = await c.nextFrame();
      assert.deepEqual([first.opcode, first.payload.toString()], [Opcode.PONG, "p"]);
      const second = await c.nextFrame();
      assert.deepEqual([second.opcode, second.payload.toString()], [Opcode.TEXT, "ab"]);
    });

    test("a continuation frame with no message started is 1002", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "orphan" });
      await c.expectClose(1002);
    });

    test("a continuation after a finished message is 1002 (the message itself was echoed)", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "complete" });
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "stray" });
      const { skipped } = await c.expectClose(1002);
      assert.deepEqual(skipped.map((f) => f.payload.toString()), ["complete"]);
    });

    test("a new text frame inside a fragmented message is 1002 (nothing echoed)", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "a", fin: false });
      c.sendFrame({ opcode: Opcode.TEXT, payload: "b" });
      const { skipped } = await c.expectClose(1002);
      assert.deepEqual(skipped, []);
    });

    test("a fragmented ping is 1002 even inside a fragmented message", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.BINARY, payload: "a", fin: false });
      c.sendFrame({ opcode: Opcode.PING, payload: "x", fin: false });
      await c.expectClose(1002);
    });
  });
}
