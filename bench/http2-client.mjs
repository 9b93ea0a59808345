// The wsx client over HTTP/2 (RFC 8441, one shared connection) against the wsx client and the
// `ws` client over HTTP/1.1 (a connection per socket), in the same run, alternating: time to
// open N sockets at once, echo round trips (every socket keeps one message in flight), and
// client memory per open socket (after a forced GC). The server (wsx, `http2: true`: h2c and
// HTTP/1.1 on one port) runs in its own process. After `npm run build`:
//
//   node --expose-gc bench/http2-client.mjs [--sockets 500] [--messages 50] [--rounds 3]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { WebSocket as WsClient } from 'ws';
import { WebSocket } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const SOCKETS = arg('--sockets', 500);
const MESSAGES = arg('--messages', 50);
const ROUNDS = arg('--rounds', 3);
if (typeof globalThis.gc !== 'function') {
  console.error('run with --expose-gc');
  process.exit(2);
}

const serverSource = `
  import { WebSocketServer } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: { maxConcurrentStreams: 100000 }, message: (ws, d, b) => void ws.send(d, b) });
  await wss.ready();
  process.stdout.write(wss.port + '\\n');
`;
const server = spawn(process.execPath, ['--input-type=module', '-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = await once(server.stdout, 'data');
const url = `ws://127.0.0.1:${Number(portLine.toString())}/`;

const variants = {
  'ws h1': () => new WsClient(url),
  'wsx h1': () => new WebSocket(url),
  'wsx h2': () => new WebSocket(url, [], { http2: true }),
};

function opened(ws) {
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('error')), { once: true });
  });
}

async function runOne(make) {
  gc();
  gc();
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().external;
  const t0 = performance.now();
  const sockets = Array.from({ length: SOCKETS }, make);
  await Promise.all(sockets.map(opened));
  const openMs = performance.now() - t0;
  gc();
  gc();
  const perSocket = (process.memoryUsage().heapUsed + process.memoryUsage().external - heap0) / SOCKETS;
  const payload = 'x'.repeat(64);
  const t1 = performance.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          let left = MESSAGES;
          ws.addEventListener('message', () => (--left === 0 ? resolve() : ws.send(payload)));
          ws.send(payload);
        }),
    ),
  );
  const echoMs = performance.now() - t1;
  await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.addEventListener('close', resolve, { once: true }), ws.close()))));
  return { openMs, msgsPerSec: (SOCKETS * MESSAGES) / (echoMs / 1000), perSocket };
}

const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of Object.entries(variants)) results[name].push(await runOne(make));
}
server.kill();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = results['wsx h1'];
console.log(`${SOCKETS} sockets, ${MESSAGES} round trips each, ${ROUNDS} rounds, medians (ratio to wsx h1)`);
for (const [name, rs] of Object.entries(results)) {
  const open = median(rs.map((r) => r.openMs));
  const rate = median(rs.map((r) => r.msgsPerSec));
  const mem = median(rs.map((r) => r.perSocket));
  console.log(
    `${name.padEnd(7)} open ${open.toFixed(0).padStart(5)} ms (${(open / median(base.map((r) => r.openMs))).toFixed(2)})` +
      `  echo ${rate.toFixed(0).padStart(7)} msg/s (${(rate / median(base.map((r) => r.msgsPerSec))).toFixed(2)})` +
      `  client heap+external ${(mem / 1024).toFixed(1)} KiB/socket`,
  );
}
