// Slowloris: request heads trickled one byte at a time. On a server wsx creates, the request
// head must be complete within `handshakeTimeout` (node:http's headersTimeout/requestTimeout,
// checked every quarter of it): such peers are dropped at the deadline, long before their
// request could complete, and 1,000 of them at once do not keep a normal client out.
//
// Nothing here depends on how fast the machine is: a peer's drop is counted from the moment
// its socket exists, the "served meanwhile" check runs against a server whose deadline cannot
// pass during the test, and "long before the head completes" has a 20x margin (the head
// takes ~34 s to trickle against a 1.5 s deadline), which load only widens (a busy machine
// trickles slower; the server's check is not slowed by the peers).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test, type TestContext } from "node:test";
import { scaled } from "../helpers/time.js";
import { assertStillServes, openTcp, startEchoServer, UPGRADE_HEAD, waitUntil } from "./harness.js";

const REQUEST = UPGRADE_HEAD + "\r\n";
const TRICKLE_MS = 200;

/** Peers writing REQUEST one byte per tick; tracks what each wrote and received. */
class Trickle {
  readonly sockets: Socket[] = [];
  readonly written: number[] = [];
  readonly responses: string[] = [];
  closed = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.tick(), TRICKLE_MS);
  }

  /** Adds a connected socket; its close counts from now, whenever it comes. */
  add(socket: Socket): void {
    const i = this.sockets.length;
    this.sockets.push(socket);
    this.written.push(0);
    this.responses.push("");
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => (this.responses[i] += text));
    if (socket.closed) this.closed++;
    else socket.once("close", () => this.closed++);
  }

  private tick(): void {
    this.sockets.forEach((s, i) => {
      if (s.destroyed || !s.writable || this.written[i] >= REQUEST.length) return;
      s.write(REQUEST[this.written[i]]);
      this.written[i]++;
    });
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
  }
}

/** Opens `n` trickling peers to `port` (released when `t` ends), in batches of 100 so the listen backlog is never the thing under test. */
async function trickle(t: TestContext, port: number, n: number): Promise<Trickle> {
  const peers = new Trickle();
  t.after(() => peers.stop());
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openTcp(port)));
    for (const socket of batch) peers.add(socket);
  }
  return peers;
}

describe("hardening: slowloris", () => {
  test("one byte every 200 ms: dropped at the handshake timeout (1 s) with 408, long before the head completes", async (t) => {
    const server = await startEchoServer(t, { handshakeTimeout: 1000 });
    const peers = await trickle(t, server.port, 1);
    await waitUntil(() => peers.closed === 1, "the slow peer to be dropped", 10_000);
    assert.ok(peers.written[0] < REQUEST.length / 4, `dropped after ${peers.written[0]} of ${REQUEST.length} bytes`);
    assert.match(peers.responses[0], /^(HTTP\/1\.1 408|$)/, "408 Request Timeout, or just closed");
    assert.equal(server.wss.clients.size, 0);
    await assertStillServes(server.port);
  });

  test("1,000 slow peers at once do not keep a normal client out", async (t) => {
    // A deadline the test cannot reach: all 1,000 are certainly still connected meanwhile.
    const server = await startEchoServer(t, { handshakeTimeout: scaled(120_000) });
    const peers = await trickle(t, server.port, 1000);
    await assertStillServes(server.port, "a client among 1,000 slow peers");
    assert.equal(peers.closed, 0, "the slow peers were all still connected while it was served");
    assert.equal(server.opens(), 1, "only the normal client became a WebSocket connection");
  });

  test("1,000 slow peers at once are all dropped at the handshake timeout, long before their heads complete", async (t) => {
    const server = await startEchoServer(t, { handshakeTimeout: 1500 });
    const peers = await trickle(t, server.port, 1000);
    await waitUntil(() => peers.closed === 1000, "all slow peers to be dropped", 30_000);
    const maxWritten = Math.max(...peers.written);
    assert.ok(maxWritten < REQUEST.length, `a slow peer completed its head (${maxWritten} of ${REQUEST.length} bytes) before being dropped`);
    assert.equal(server.wss.clients.size, 0, "no WebSocket connection came of them");
    await assertStillServes(server.port, "a client after the flood");
  });
});
