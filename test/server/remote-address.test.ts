// The peer's address as handlers see it: captured when the connection is accepted, so the
// `close` handler (after the socket is gone) sees the same address, port and family as `open`,
// whether or not anything read it before. Over IPv4 and IPv6 loopback.
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { describe, test } from "node:test";
import { WebSocketServer } from "../../src/server/server.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { connectRaw } from "../helpers/raw-client.js";

interface Peer {
  address: string;
  port: number;
  family: string;
}

/** Whether this machine has an IPv6 loopback address to listen on. */
function hasIPv6Loopback(): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.internal && i.family === "IPv6" && i.address === "::1"));
}

const peerOf = (ws: ServerWebSocket): Peer => ({ address: ws.remoteAddress, port: ws.remotePort, family: ws.remoteFamily });

for (const { host, family } of [
  { host: "127.0.0.1", family: "IPv4" },
  { host: "::1", family: "IPv6" },
]) {
  describe(`remote address over ${family} loopback`, () => {
    const skip = family === "IPv6" && !hasIPv6Loopback() ? "this machine has no IPv6 loopback (::1)" : false;

    test("the close handler sees the peer's address, port and family though nothing read them before", { skip }, async (t) => {
      let resolveClosed!: (p: Peer) => void;
      const closed = new Promise<Peer>((r) => (resolveClosed = r));
      const wss = new WebSocketServer({
        port: 0,
        host,
        close(ws) {
          resolveClosed(peerOf(ws));
        },
      });
      t.after(() => wss.close());
      await wss.ready();
      const client = await connectRaw(wss.port, { host });
      t.after(() => client.destroy());
      const localPort = client.socket.localPort as number;
      // An abrupt end: the server's socket is destroyed before any handler reads the address.
      client.destroy();
      assert.deepEqual(await closed, { address: host, port: localPort, family });
    });

    test("open and close report the same peer after a clean close handshake", { skip }, async (t) => {
      const seen: Peer[] = [];
      let resolveClosed!: () => void;
      const closed = new Promise<void>((r) => (resolveClosed = r));
      const wss = new WebSocketServer({
        port: 0,
        host,
        open(ws) {
          seen.push(peerOf(ws));
          ws.close(1000);
        },
        close(ws) {
          seen.push(peerOf(ws));
          resolveClosed();
        },
      });
      t.after(() => wss.close());
      await wss.ready();
      const client = await connectRaw(wss.port, { host });
      t.after(() => client.destroy());
      const expected = { address: host, port: client.socket.localPort as number, family };
      await client.expectClose(1000);
      client.sendClose(1000);
      await closed;
      assert.deepEqual(seen, [expected, expected]);
    });
  });
}
