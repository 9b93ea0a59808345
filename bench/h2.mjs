// WebSocket over HTTP/2 (RFC 8441) against HTTP/1.1, in the same run:
//  1. echo throughput, small (32 B) and 16 KiB messages: wsx over h2c streams, wsx over
//     HTTP/1.1, and ws over HTTP/1.1 as the reference; rounds alternate the order, medians.
//  2. server RSS per WebSocket: 1,000 WebSockets sharing one HTTP/2 connection against
//     1,000 TCP connections (a fresh server process each, measured after a full GC).
// The servers run in their own processes (bench/servers/*.mjs); the clients here, on raw
// sockets / node:http2 streams with pre-masked frames, so both transports pay the same client.
// Usage: npm run bench:h2 [-- --rounds 5 --seconds 1.5 --conns 8 --window 16 --rss-conns 1000]
//        --h2-window <bytes> adds a mode: wsx over h2 with that SETTINGS_INITIAL_WINDOW_SIZE.
import { connect as connectH2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { canPin, killChildren, serverStats, startServer } from './lib/procs.mjs';
import { checkHandshakeResponse, FrameCounter, frameRun, handshakeRequest, makePayload, maskedFrame, OP_BINARY } from './load/frames.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '1.5' },
    conns: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
    'rss-conns': { type: 'string', default: '1000' },
    'h2-window': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('node bench/h2.mjs [--rounds 5] [--seconds 1.5] [--conns 8] [--window 16] [--rss-conns 1000]');
  process.exit(0);
}
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNS = Number(values.conns);
const WINDOW = Number(values.window);
const RSS_CONNS = Number(values['rss-conns']);
const SERVER_CPU = canPin(cpus().length) ? 0 : null;
process.on('SIGINT', () => (killChildren(), process.exit(130)));

const ZERO_MASK = Buffer.alloc(4); // a legal key (RFC 6455 §5.3) that keeps the client's cost low

/** Opens one WebSocket over HTTP/1.1; resolves with {write, onData, close}. */
function openH1(port) {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => {
      socket.setNoDelay(true);
      const { request, accept } = handshakeRequest('127.0.0.1', port, '/', false);
      socket.write(request);
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onHead);
      const problem = /^HTTP\/1\.1 101 /.test(head.toString('latin1')) ? null : head.toString('latin1', 0, 80);
      if (problem !== null) return reject(new Error(problem));
      const rest = head.subarray(end + 4);
      resolve({ stream: socket, rest, close: () => socket.destroy() });
    };
    socket.on('data', onHead);
    socket.on('error', reject);
  });
}

/** Opens one WebSocket as an extended CONNECT stream on `session`. */
function openH2(session, port) {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/', ':authority': `127.0.0.1:${port}`, 'sec-websocket-version': '13' },
      { endStream: false },
    );
    stream.once('response', (h) => (h[':status'] === 200 ? resolve({ stream, rest: Buffer.alloc(0), close: () => stream.destroy() }) : reject(new Error(`status ${h[':status']}`))));
    stream.once('error', reject);
  });
}

function h2Session(port) {
  return new Promise((resolve, reject) => {
    // Windows as a browser sets them (Chromium: 6 MiB per stream, 15 MiB per connection).
    const session = connectH2(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 6 * 1024 * 1024 } });
    session.once('remoteSettings', () => {
      session.setLocalWindowSize(15 * 1024 * 1024);
      resolve(session);
    });
    session.once('error', reject);
  });
}

/** Echo throughput: CONNS WebSockets, WINDOW messages in flight each, for SECONDS. Returns msgs/s. */
async function echoRun(port, transport, size) {
  const payload = makePayload(size);
  const frame = maskedFrame(OP_BINARY, payload, { maskKey: ZERO_MASK });
  const runs = frameRun(frame, WINDOW);
  const session = transport === 'h2' ? await h2Session(port) : null;
  const conns = [];
  for (let i = 0; i < CONNS; i++) conns.push(await (session !== null ? openH2(session, port) : openH1(port)));
  let count = 0;
  let errors = 0;
  let running = true;
  for (const c of conns) {
    const counter = new FrameCounter(null);
    c.stream.on('data', (chunk) => {
      const n = counter.push(chunk);
      count += n;
      if (running && n > 0) c.stream.write(runs[Math.min(n, WINDOW)]);
    });
    c.stream.on('error', () => errors++);
    c.stream.write(runs[WINDOW]);
  }
  const start = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const got = count;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  running = false;
  for (const c of conns) c.close();
  session?.destroy();
  if (errors > 0) throw new Error(`${errors} stream errors`);
  return got / elapsed;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

console.log(`bench/h2: ${ROUNDS} rounds × ${SECONDS}s, ${CONNS} WebSockets × ${WINDOW} in flight; server ${SERVER_CPU === null ? 'unpinned' : `pinned to CPU ${SERVER_CPU}`}; ${cpus().length} CPUs`);
const wsxServer = await startServer('wsx-echo.mjs', ['--http2'], { cpu: SERVER_CPU });
const wsServer = await startServer('ws-echo.mjs', [], { cpu: SERVER_CPU });
const H2_WINDOW = values['h2-window'];
const wideServer = H2_WINDOW !== undefined ? await startServer('wsx-echo.mjs', ['--http2', '--h2-window', H2_WINDOW], { cpu: SERVER_CPU }) : null;
const modes = [
  ['wsx h2 (RFC 8441, one connection)', wsxServer.port, 'h2'],
  ...(wideServer !== null ? [[`wsx h2, stream window ${H2_WINDOW}`, wideServer.port, 'h2']] : []),
  ['wsx HTTP/1.1', wsxServer.port, 'h1'],
  ['ws HTTP/1.1', wsServer.port, 'h1'],
];
try {
  for (const size of [32, 16 * 1024]) {
    const results = new Map(modes.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order each round, so no mode always runs first (warm-up, neighbours).
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const [name, port, transport] of order) results.get(name).push(await echoRun(port, transport, size));
    }
    const base = median(results.get('wsx HTTP/1.1'));
    console.log(`\necho, ${size} B messages (msgs/s, median of ${ROUNDS}; ratio to wsx HTTP/1.1)`);
    for (const [name] of modes) {
      const m = median(results.get(name));
      console.log(`  ${name.padEnd(38)} ${fmt(m).padStart(10)}  ×${(m / base).toFixed(2)}   [${results.get(name).map(fmt).join(', ')}]`);
    }
  }
} finally {
  await wsxServer.stop();
  await wsServer.stop();
  await wideServer?.stop();
}

/** Server RSS per WebSocket with RSS_CONNS open, on a fresh server process. */
async function rssPerSocket(transport) {
  const server = await startServer('wsx-echo.mjs', ['--http2'], { cpu: SERVER_CPU });
  try {
    const before = await serverStats(server);
    const session = transport === 'h2' ? await h2Session(server.port) : null;
    const conns = [];
    for (let base = 0; base < RSS_CONNS; base += 100) {
      const batch = [];
      for (let i = base; i < Math.min(RSS_CONNS, base + 100); i++) batch.push(session !== null ? openH2(session, server.port) : openH1(server.port));
      conns.push(...(await Promise.all(batch)));
    }
    // One echo each, so every connection has done real work, not only the handshake.
    const frame = maskedFrame(OP_BINARY, makePayload(32), { maskKey: ZERO_MASK });
    await Promise.all(conns.map((c) => new Promise((resolve) => {
      c.stream.once('data', resolve);
      c.stream.write(frame);
    })));
    const after = await serverStats(server);
    if (after.clients !== RSS_CONNS) throw new Error(`server has ${after.clients} clients, expected ${RSS_CONNS}`);
    for (const c of conns) c.close();
    session?.destroy();
    return { rss: (after.mem.rss - before.mem.rss) / RSS_CONNS, heap: (after.mem.heapUsed - before.mem.heapUsed) / RSS_CONNS, external: (after.mem.external - before.mem.external) / RSS_CONNS };
  } finally {
    await server.stop();
  }
}

console.log(`\nserver memory per WebSocket with ${RSS_CONNS} open (after GC; median of 3 fresh servers each)`);
const mem = { h2: [], h1: [] };
for (let r = 0; r < 3; r++) for (const t of r % 2 === 0 ? ['h2', 'h1'] : ['h1', 'h2']) mem[t].push(await rssPerSocket(t));
for (const [t, label] of [['h2', `${RSS_CONNS} streams on one HTTP/2 connection`], ['h1', `${RSS_CONNS} TCP connections (HTTP/1.1)`]]) {
  const pick = (k) => median(mem[t].map((m) => m[k]));
  console.log(`  ${label.padEnd(42)} RSS ${(pick('rss') / 1024).toFixed(1).padStart(6)} KiB   heap ${(pick('heap') / 1024).toFixed(1).padStart(5)} KiB   external ${(pick('external') / 1024).toFixed(1).padStart(5)} KiB`);
}
