// Slowloris: request heads trickled one byte at a time. On a server wsx creates, the request
// head must be complete within `handshakeTimeout` (node:http's headersTimeout/requestTimeout,
// checked every quarter of it): such peers are dropped at the deadline, long before their
// request could complete, and 1,000 of them at once do not keep a normal client out.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { assertStillServes, openTcp, startEchoServer, UPGRADE_HEAD, waitUntil } from "./harness.js";

const REQUEST = UPGRADE_HEAD + "\r\n";
const TRICKLE_MS = 200;

/** Peers writing REQUEST one byte per tick; tracks what each wrote and received. */
class Trickle {
  readonly sockets: Socket[];
  readonly written: number[];
  readonly responses: string[];
  closed = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(sockets: Socket[]) {
    this.sockets = sockets;
    this.written = sockets.map(() => 0);
    this.responses = sockets.map(() => "");
    sockets.forEach((s, i) => {
      s.setEncoding("latin1");
      s.on("data", (text: string) => (this.responses[i] += text));
      s.once("close", () => this.closed++);
    });
    this.timer = setInterval(() => this.tick(), TRICKLE_MS);
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

async function openMany(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  // In batches of 100, so the listen backlog is never the thing under test.
  for (let i = 0; i < n; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openTcp(port)))));
  return sockets;
}

describe("hardening: slowloris", () => {
  test("one byte every 200 ms: dropped at the handshake timeout (1 s) with 408, long before the head completes", async (t) => {
    const server = await startEchoServer(t, { handshakeTimeout: 1000 });
    const trickle = new Trickle(await openMany(server.port, 1));
    t.after(() => trickle.stop());
    await waitUntil(() => trickle.closed === 1, "the slow peer to be dropped", 5000);
    assert.ok(trickle.written[0] < REQUEST.length / 4, `dropped after ${trickle.written[0]} of ${REQUEST.length} bytes`);
    assert.match(trickle.responses[0], /^(HTTP\/1\.1 408|$)/, "408 Request Timeout, or just closed");
    assert.equal(server.wss.clients.size, 0);
    await assertStillServes(server.port);
  });

  test("1,000 slow peers at once: a normal client connects meanwhile, and all 1,000 are dropped at the timeout", async (t) => {
    const server = await startEchoServer(t, { handshakeTimeout: 1500 });
    const trickle = new Trickle(await openMany(server.port, 1000));
    t.after(() => trickle.stop());
    // While all 1,000 are connected and trickling, a normal client gets through.
    await assertStillServes(server.port, "a client among 1,000 slow peers");
    assert.equal(trickle.closed, 0, "the slow peers were all still connected while it was served");
    await waitUntil(() => trickle.closed === 1000, "all slow peers to be dropped", 15_000);
    const maxWritten = Math.max(...trickle.written);
    assert.ok(maxWritten < REQUEST.length / 2, `the slowest drop came after ${maxWritten} of ${REQUEST.length} bytes`);
    assert.equal(server.wss.clients.size, 0, "no WebSocket connection came of them");
    await assertStillServes(server.port, "a client after the flood");
  });
});
