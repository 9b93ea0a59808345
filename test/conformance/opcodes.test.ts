// Autobahn group 4 style: reserved opcodes are 1002 (RFC 6455 §5.2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Opcode } from "../helpers/raw-client.js";
import { openClientOver, serverOptionsFor, TRANSPORTS } from "./client.js";
import { startEchoServer, type EchoServer } from "./echo-server.js";

// The same cases over TCP and over an HTTP/2 stream (RFC 8441).
for (const transport of TRANSPORTS) {
  describe(`conformance: reserved opcodes (RFC 6455 §5.2) over ${transport}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startEchoServer(serverOptionsFor(transport));
    });
    after(() => server.stop());

    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      for (const payload of ["", "reserved"]) {
        test(`opcode 0x${opcode.toString(16)} ${payload === "" ? "empty" : "with a payload"}, after a valid message: the echo, then 1002`, async (t) => {
          const c = await openClientOver(transport, t, server.port);
          c.sendText("valid first");
          c.sendFrame({ opcode, payload });
          c.sendFrame({ opcode: Opcode.PING });
          const { skipped } = await c.expectClose(1002);
          assert.deepEqual(skipped.map((f) => f.payload.toString()), ["valid first"]);
          assert.equal(skipped[0].opcode, Opcode.TEXT);
        });
      }
    }
  });
}
