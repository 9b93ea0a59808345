// 1,000 WebSockets on one HTTP/2 connection (RFC 8441): each stream has its own flow control
// (RFC 9113 §5.2), so a peer that stops reading one WebSocket stalls that stream only, and
// what the server holds for it is bounded by maxBackpressure.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SendStatus } from "../../src/server/send-status.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { formatBytes, memoryAfterGc, MiB } from "../helpers/memory.js";
import { connectRawH2, openH2Session, type RawH2Client } from "../helpers/raw-h2-client.js";
import { waitUntil } from "../helpers/time.js";

const STREAMS = 1000;
const MAX_BACKPRESSURE = 256 * 1024;
const CHUNK = 64 * 1024;

test(`${STREAMS} WebSockets share one HTTP/2 connection; a stalled reader stalls only its own stream; memory stays bounded`, async (t) => {
  const byIndex = new Map<number, ServerWebSocket<unknown>>();
  const server = await startEchoServer(t, {
    http2: { maxConcurrentStreams: STREAMS + 10 },
    maxBackpressure: MAX_BACKPRESSURE,
    upgrade: (req) => Number(new URL(req.url ?? "/", "http://x").searchParams.get("i")),
    open: (ws) => void byIndex.set(ws.data as number, ws),
  });
  const session = await openH2Session(server.port, { t });
  const clients: RawH2Client[] = [];
  // Opened in batches of 100 (bounded concurrency), all on the one session.
  for (let base = 0; base < STREAMS; base += 100) {
    const batch = Array.from({ length: 100 }, (_, j) => connectRawH2(server.port, { session, path: `/?i=${base + j}` }));
    clients.push(...(await Promise.all(batch)));
  }
  t.after(() => {
    for (const c of clients) c.socket.destroy();
  });
  assert.equal(server.wss.clients.size, STREAMS);
  assert.equal(server.tcpConnections(), 1, "one TCP connection carries them all");

  const echoAll = async (from: number, tag: string): Promise<void> => {
    for (let i = from; i < STREAMS; i++) clients[i].sendText(`${tag}${i}`);
    for (let i = from; i < STREAMS; i++) assert.equal((await clients[i].nextFrame()).payload.toString(), `${tag}${i}`);
  };
  await echoAll(0, "warm ");

  const before = await memoryAfterGc();
  // Stream 0's reader stops: its stream window (64 KiB) fills and the server's sends back up.
  const stalled = clients[0];
  stalled.socket.pause();
  const ws0 = byIndex.get(0)!;
  let sent = 0;
  let dropped = 0;
  for (let i = 0; i < 100; i++) {
    const status = ws0.send(Buffer.alloc(CHUNK, i)); // a fresh buffer each time: retention is real
    if (status === SendStatus.Dropped) dropped++;
    else sent++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(dropped > 0, "sends beyond maxBackpressure are dropped");
  assert.ok(ws0.bufferedAmount <= MAX_BACKPRESSURE + CHUNK, `buffered ${ws0.bufferedAmount} within the limit and one message`);

  // Every other WebSocket on the same connection still echoes.
  await echoAll(1, "while stalled ");

  const after = await memoryAfterGc();
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  // Offered: 100 × 64 KiB = 6.25 MiB. Held: at most maxBackpressure + one message + the
  // stream's window in flight, plus 1 MiB for the heap's own noise.
  const bound = MAX_BACKPRESSURE + CHUNK + 64 * 1024 + MiB;
  assert.ok(grown < bound, `memory grew by ${formatBytes(grown)} (bound ${formatBytes(bound)}; sent ${sent}, dropped ${dropped})`);

  // The stalled reader resumes and gets what was accepted for it, in order, then echoes again.
  stalled.socket.resume();
  for (let i = 0; i < sent; i++) {
    const f = await stalled.nextFrame();
    assert.equal(f.payload.length, CHUNK);
  }
  stalled.sendText("back");
  assert.equal((await stalled.nextFrame()).payload.toString(), "back");
  await waitUntil(() => server.wss.clients.size === STREAMS, "all still open");
});

test("a WebSocket whose server-side reader stops holds back only its own stream: the peer's bytes wait on the peer, other streams go on", async (t) => {
  const held: unknown[] = [];
  const server = await startEchoServer(t, {
    http2: true,
    maxPayload: 64 * MiB,
    upgrade: (req) => req.url,
    // "/slow": the message stream is never read (the transport pauses the HTTP/2 stream);
    // others: read whole and echoed.
    messageStream: async (ws, message, isBinary) => {
      if (ws.data === "/slow") {
        message.on("error", () => {}); // aborted when the test ends: expected
        return void held.push(message);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of message) chunks.push(chunk as Buffer);
      ws.send(Buffer.concat(chunks), isBinary);
    },
  });
  const slow = await connectRawH2(server.port, { t, path: "/slow" });
  const fast = await connectRawH2(server.port, { t, session: slow.session, path: "/fast" });
  const before = await memoryAfterGc();
  const SIZE = 8 * MiB;
  slow.sendBinary(Buffer.alloc(SIZE, 1));
  await waitUntil(() => held.length === 1, "the slow message to start");
  // The server took what the stream window and its 64 KiB message buffer allow; the rest
  // waits in the client's stream (HTTP/2 flow control), not in the server.
  await waitUntil(() => slow.socket.writableLength > SIZE / 2, "the peer's own writes to back up");
  for (let i = 0; i < 20; i++) {
    fast.sendText(`fast ${i}`);
    assert.equal((await fast.nextFrame()).payload.toString(), `fast ${i}`);
  }
  const after = await memoryAfterGc();
  // The 8 MiB frame, masked by the client, is one buffer on the client side: count it out.
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers) - SIZE;
  assert.ok(grown < 2 * MiB, `memory grew by ${formatBytes(grown)} beyond the client's own 8 MiB frame`);
});
