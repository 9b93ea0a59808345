// Autobahn group 3 style: RSV1-3 without a negotiated extension are 1002 (RFC 6455 §5.2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Opcode, type FrameSpec } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";

// The same cases over TCP and over an HTTP/2 stream (RFC 8441).
for (const transport of TRANSPORTS) {
  describe(`conformance: reserved bits (RFC 6455 §5.2) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    const combos: Array<Pick<FrameSpec, "rsv1" | "rsv2" | "rsv3">> = [];
    for (let bits = 1; bits < 8; bits++) combos.push({ rsv1: (bits & 4) !== 0, rsv2: (bits & 2) !== 0, rsv3: (bits & 1) !== 0 });
    const opcodes: Array<[string, number, string | Buffer]> = [
      ["text", Opcode.TEXT, "Hello"],
      ["binary", Opcode.BINARY, Buffer.from([0, 1, 2])],
      ["ping", Opcode.PING, "ping"],
      ["close", Opcode.CLOSE, Buffer.from([0x03, 0xe8])],
    ];
    for (const bits of combos) {
      const name = Object.entries(bits).filter(([, on]) => on).map(([k]) => k.toUpperCase()).join("+");
      for (const [kind, opcode, payload] of opcodes) {
        test(`${name} on a ${kind} frame, after a valid message: the echo, then 1002 and nothing else`, async (t) => {
          const c = await openClientOver(transport, t, server.port);
          c.sendText("valid first");
          c.sendFrame({ opcode, payload, ...bits });
          c.sendFrame({ opcode: Opcode.PING, payload: "must not be answered" });
          const { skipped } = await c.expectClose(1002);
          assert.deepEqual(skipped.map((f) => [f.opcode, f.payload.toString()]), [[Opcode.TEXT, "valid first"]]);
        });
      }
    }
  });
}
