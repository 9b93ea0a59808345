// What wsx adds to each idle connection, in JS heap after a forced GC, beside the Node floor
// (node:http upgrade, then a bare net.Socket with three listeners, as bench/servers/node-echo.mjs):
// N connections to each server, opened from a child process (their client sockets are not in
// this heap). Measured on Node 20 (docs/PERFORMANCE.md, "Idle memory (round 3)"): the floor
// ~1,150-1,270 B per connection, wsx ~160 B above it (it was ~590 B above it before round 3:
// booleans packed, rare state apart, no cached _peername, no heap number per connection).
// The bound, 400 B above the floor, leaves ~240 B of margin and fails the pre-round-3 layout.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { WebSocketServer } from "../../src/server/server.js";
import { memoryAfterGc } from "../helpers/memory.js";
import { spawnChild, type ChildHandle } from "../helpers/process.js";
import { scaled, waitUntil } from "../helpers/time.js";

const N = 2000;
const WARM = 100;
const MAX_ABOVE_FLOOR = 400;
const fixture = fileURLToPath(new URL("./fixtures/idle-clients.js", import.meta.url));

/** The client processes, killed first at the end (their sockets close, so the servers close at once). */
const children: ChildHandle[] = [];

/** Opens `n` idle connections from a child process; resolves once all have their 101. */
async function holdClients(t: TestContext, port: number, n: number): Promise<void> {
  const child = spawnChild(process.execPath, [fixture, String(port), String(n)], { t, name: "idle-clients" });
  children.push(child);
  const line = await child.waitForLine(/^(open|error) (.*)$/, scaled(20_000));
  assert.equal(line[1], "open", `idle clients failed: ${line[2]}`);
}

/** Heap bytes per connection that `n` more idle connections cost a server counting `open()`. */
async function heapPerConnection(t: TestContext, port: number, open: () => number): Promise<number> {
  // Warm up: the first connections load code and fill pools once.
  await holdClients(t, port, WARM);
  await waitUntil(() => open() === WARM, `${WARM} warm-up connections`, scaled(10_000));
  const before = (await memoryAfterGc()).heapUsed;
  await holdClients(t, port, N);
  await waitUntil(() => open() === WARM + N, `${WARM + N} connections`, scaled(10_000));
  const after = (await memoryAfterGc()).heapUsed;
  return (after - before) / N;
}

test(`${N} idle connections cost at most ${MAX_ABOVE_FLOOR} B of heap each above a bare upgraded net.Socket`, { timeout: scaled(60_000) }, async (t) => {
  // The floor: bench/servers/node-echo.mjs's upgrade handler.
  let floorOpen = 0;
  const floor = createServer();
  floor.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.setNoDelay(true);
    floorOpen++;
    socket.on("close", () => floorOpen--);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => floor.listen(0, "127.0.0.1", resolve));

  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    message(ws, data, isBinary) {
      ws.send(data, isBinary);
    },
  });
  await wss.ready();
  t.after(async () => {
    await Promise.all(children.map((c) => c.kill("SIGKILL")));
    floor.closeAllConnections();
    floor.close();
    await wss.close();
  });

  const floorBytes = await heapPerConnection(t, (floor.address() as AddressInfo).port, () => floorOpen);
  const wsxBytes = await heapPerConnection(t, wss.port, () => wss.clients.size);
  const above = wsxBytes - floorBytes;
  t.diagnostic(`heap per idle connection: wsx ${wsxBytes.toFixed(0)} B, floor ${floorBytes.toFixed(0)} B, wsx above the floor ${above.toFixed(0)} B`);
  // Every connection is still open and usable: an idle connection gave up nothing to be small.
  for (const ws of wss.clients) assert.equal(ws.readyState, 1);
  assert.ok(above <= MAX_ABOVE_FLOOR, `wsx costs ${above.toFixed(0)} B per idle connection above the floor (wsx ${wsxBytes.toFixed(0)} B, floor ${floorBytes.toFixed(0)} B); the bound is ${MAX_ABOVE_FLOOR} B`);
});
