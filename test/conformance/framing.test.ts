// Autobahn group 1 and 2 style: framing (RFC 6455 §5.2) over a real loopback socket.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeFrame, Opcode } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";
import { waitUntil } from "./wait.js";

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 251 + 3) & 0xff;
  return b;
}

// The same cases over TCP and over an HTTP/2 stream (RFC 8441): frames do not depend on the carrier.
for (const transport of TRANSPORTS) {
  describe(`conformance: framing (RFC 6455 §5.2) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    for (const size of [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]) {
      test(`text and binary of ${size} bytes are echoed byte-exact with the minimal length form`, async (t) => {
        const c = await openClientOver(transport, t, server.port);
        const text = Buffer.alloc(size, 0x2a);
        c.sendFrame({ opcode: Opcode.TEXT, payload: text });
        const echoText = await c.nextFrame();
        assert.equal(echoText.opcode, Opcode.TEXT);
        assert.ok(echoText.fin && !echoText.rsv1 && !echoText.rsv2 && !echoText.rsv3);
        assert.ok(echoText.payload.equals(text));
        const binary = pattern(size);
        c.sendFrame({ opcode: Opcode.BINARY, payload: binary });
        const echoBinary = await c.nextFrame();
        assert.equal(echoBinary.opcode, Opcode.BINARY);
        assert.ok(echoBinary.payload.equals(binary));
        c.sendClose(1000);
        await c.expectClose(1000);
      });
    }

    test("a frame written one byte per TCP write is still one message", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      const payload = pattern(300);
      const bytes: Buffer = encodeFrame({ opcode: Opcode.BINARY, payload, mask: true });
      for (const b of bytes) {
        c.write(Uint8Array.of(b));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok((await c.nextFrame()).payload.equals(payload));
    });

    test("many frames in one TCP write are echoed in order", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.write(Buffer.concat(Array.from({ length: 100 }, (_, i) => encodeFrame({ opcode: Opcode.TEXT, payload: `#${i}` }))));
      for (let i = 0; i < 100; i++) assert.equal((await c.nextFrame()).payload.toString(), `#${i}`);
    });

    test("non-minimal length encodings are accepted", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "sixteen", lengthBytes: 2 });
      c.sendFrame({ opcode: Opcode.TEXT, payload: "sixty-four", lengthBytes: 8 });
      assert.equal((await c.nextFrame()).payload.toString(), "sixteen");
      assert.equal((await c.nextFrame()).payload.toString(), "sixty-four");
    });

    test("a 64-bit length with the most significant bit set is 1002", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.write(Buffer.from([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]));
      await c.expectClose(1002);
    });

    test("an unmasked frame from a client is 1002 (§5.1)", async (t) => {
      const c = await openClientOver(transport, t, server.port);
      c.sendFrame({ opcode: Opcode.TEXT, payload: "plain", mask: false });
      await c.expectClose(1002);
      // The close handler reports the code the server failed the connection with.
      await waitUntil(() => server.closes.some((e) => e.code === 1002), "the close handler with 1002");
    });
  });
}
