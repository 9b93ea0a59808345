// Autobahn group 2 style: ping and pong (RFC 6455 §5.5.2, §5.5.3) over a real loopback socket.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeFrame, Opcode } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";

// The same cases over TCP and over an HTTP/2 stream (RFC 8441).
for (const transport of TRANSPORTS) {
  describe(`conformance: ping and pong (RFC 6455 §5.5.2-3) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    const payloads: Array<[string, Buffer]> = [
      ["empty", Buffer.alloc(0)],
      ["text", Buffer.from("Hello, wsx")],
      ["binary", Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])],
      ["125 bytes", Buffer.alloc(125, 0xfe)],
    ];
    for (const [name, payload] of payloads) {
      test(`a ping with a ${name} payload is answered by a pong with the same payload`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        c.sendFrame({ opcode: Opcode.PING, payload });
        const pong = await c.nextFrame();
        assert.equal(pong.opcode, Opcode.PONG);
        assert.ok(pong.fin);
        assert.ok(pong.payload.equals(payload));
        c.sendClose(1000);
        await c.expectClose(1000);
      });
    }

    test("a ping with a 126-byte payload is 1002 and gets no pong", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.PING, payload: Buffer.alloc(126, 0xfe) });
      const { skipped } = await c.expectClose(1002);
      assert.deepEqual(skipped, []);
    });

    test("a fragmented ping (FIN clear) is 1002", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.PING, payload: "frag", fin: false });
      await c.expectClose(1002);
    });

    test("an unsolicited pong is ignored: the next answer is the echo", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.PONG, payload: "unsolicited" });
      c.sendFrame({ opcode: Opcode.PONG });
      c.sendText("after the pongs");
      const echo = await c.nextFrame();
      assert.equal(echo.opcode, Opcode.TEXT);
      assert.equal(echo.payload.toString(), "after the pongs");
    });

    test("ten pings in one write get ten pongs, in order", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeFrame({ opcode: Opcode.PING, payload: `ping ${i}` }))));
      for (let i = 0; i < 10; i++) {
        const f = await c.nextFrame();
        assert.equal(f.opcode, Opcode.PONG);
        assert.equal(f.payload.toString(), `ping ${i}`);
      }
    });

    test("a ping sent one byte per write is answered", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      for (const b of encodeFrame({ opcode: Opcode.PING, payload: "slow" })) {
        c.write(Uint8Array.of(b));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal((await c.nextFrame()).payload.toString(), "slow");
    });

    test("a ping between fragments is answered before the message completes", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "frag1 ", fin: false });
      c.sendFrame({ opcode: Opcode.PING, payload: "in between" });
      const pong = await c.nextFrame();
      assert.equal(pong.opcode, Opcode.PONG);
      assert.equal(pong.payload.toString(), "in between");
      c.sendFrame({ opcode: Opcode.CONTINUATION, payload: "frag2" });
      assert.equal((await c.nextFrame()).payload.toString(), "frag1 frag2");
    });

    test("with autoPong: false the ping handler sees the ping and no pong is sent", async (t) => {
      const pings: string[] = [];
      const quiet = await startEchoServer(serverOptionsFor(transport, { autoPong: false, ping: (_ws, data) => void pings.push(data.toString()) }));
      t.after(() => quiet.stop());
      const c = await openClientOver(transport, t, quiet.port);
      c.sendFrame({ opcode: Opcode.PING, payload: "no answer" });
      c.sendText("echo");
      const f = await c.nextFrame();
      assert.equal(f.opcode, Opcode.TEXT, "the echo comes first: no pong before it");
      assert.deepEqual(pings, ["no answer"]);
    });
  });
}
