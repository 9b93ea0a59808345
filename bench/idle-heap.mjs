// Heap attribution per idle connection (docs/PERFORMANCE.md, "Idle memory (round 3)"): runs a
// server in this process (wsx from dist/ or WSX_DIST, ws, or the Node floor of
// bench/servers/node-echo.mjs), opens 200 warm-up connections and then N idle ones from a child
// process, takes a heap snapshot after a forced GC before and after the N, and sums the self
// size of the objects new in the second by (type, name), per connection. DETAIL=1 groups by
// the retaining edge as well (`Socket._events`, `Transport.owner`...). KEEP=1 keeps the
// snapshots in /tmp. Not part of `npm run bench`.
// usage: node --expose-gc bench/idle-heap.mjs wsx|ws|node [N=2000]
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { writeHeapSnapshot } from 'node:v8';
import { acceptUpgrade } from './lib/floor.mjs';

const impl = process.argv[2] ?? 'wsx';
const N = Number(process.argv[3] ?? 2000);

if (impl === 'client') {
  const net = await import('node:net');
  const port = Number(process.argv[3]);
  const n = Number(process.argv[4]);
  const socks = [];
  let open = 0;
  const one = () => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    s.once('data', (d) => { if (!d.toString().startsWith('HTTP/1.1 101')) reject(new Error(d.toString())); open++; resolve(); });
    s.on('error', reject);
    socks.push(s);
  });
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
  process.send({ open });
  process.on('message', () => { for (const s of socks) s.destroy(); process.exit(0); });
  setInterval(() => {}, 1e6);
} else {
  let port;
  let base = 0;
  let count = () => 0;
  if (impl === 'wsx') {
    const { WebSocketServer } = await import(process.env.WSX_DIST ?? '../dist/index.js');
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', message(ws, d, b) { ws.send(d, b); } });
    await server.ready();
    port = server.port;
    count = () => server.clients.size;
  } else if (impl === 'ws') {
    const { WebSocketServer } = await import('ws');
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    await new Promise((r) => server.once('listening', r));
    port = server.address().port;
    count = () => server.clients.size;
  } else {
    const server = createServer();
    let clients = 0;
    server.on('upgrade', (req, socket) => {
      acceptUpgrade(req, socket);
      clients++;
      socket.on('close', () => clients--);
      socket.on('error', () => {});
      socket.on('data', (c) => socket.write(c));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
    count = () => clients;
  }
  const run = async (n) => {
    const child = fork(new URL(import.meta.url).pathname, ['client', String(port), String(n)], { stdio: 'inherit' });
    await new Promise((r) => child.once('message', r));
    while (count() < n + base) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    return child;
  };
  // Warm up: one round of connections, closed, so lazily loaded code and pools are there.
  const warm = await run(200);
  base = count();
  gc(); gc();
  const m0 = process.memoryUsage();
  const f0 = writeHeapSnapshot(`/tmp/idle-${impl}-0.heapsnapshot`);
  const child = await run(N);
  gc(); gc();
  const m1 = process.memoryUsage();
  const f1 = writeHeapSnapshot(`/tmp/idle-${impl}-1.heapsnapshot`);
  child.send('x');
  warm.send('x');
  console.log(`${impl}: heapUsed/conn ${((m1.heapUsed - m0.heapUsed) / N).toFixed(0)} B, rss/conn ${((m1.rss - m0.rss) / N).toFixed(0)} B, external/conn ${((m1.external - m0.external) / N).toFixed(0)} B`);
  const load = (f) => {
    const s = JSON.parse(readFileSync(f, 'utf8'));
    if (!process.env.KEEP) rmSync(f);
    return s;
  };
  const a = load(f0);
  const b = load(f1);
  const ids = (s) => {
    const f = s.snapshot.meta.node_fields;
    const w = f.length;
    const idI = f.indexOf('id');
    const set = new Set();
    for (let i = 0; i < s.nodes.length; i += w) set.add(s.nodes[i + idI]);
    return set;
  };
  const old = ids(a);
  const f = b.snapshot.meta.node_fields;
  const types = b.snapshot.meta.node_types[0];
  const w = f.length;
  const [tI, nI, idI, sI] = ['type', 'name', 'id', 'self_size'].map((k) => f.indexOf(k));
  const ef = b.snapshot.meta.edge_fields;
  const ew = ef.length;
  const etypes = b.snapshot.meta.edge_types[0];
  const [etI, enI, etoI] = ['type', 'name_or_index', 'to_node'].map((k) => ef.indexOf(k));
  const ecI = f.indexOf('edge_count');
  const parent = new Map();
  for (let i = 0, e = 0; i < b.nodes.length; i += w) {
    const cnt = b.nodes[i + ecI];
    for (let j = 0; j < cnt; j++, e += ew) {
      const to = b.edges[e + etoI];
      const et = etypes[b.edges[e + etI]];
      if (et === 'weak' || parent.has(to)) continue;
      const pn = b.strings[b.nodes[i + nI]];
      const en = et === 'element' || et === 'hidden' ? `[${b.edges[e + enI]}]` : b.strings[b.edges[e + enI]];
      parent.set(to, `${pn.slice(0, 30)}.${String(en).slice(0, 30)}`);
    }
  }
  const DETAIL = process.env.DETAIL !== undefined;
  const by = new Map();
  let total = 0;
  for (let i = 0; i < b.nodes.length; i += w) {
    if (old.has(b.nodes[i + idI])) continue;
    const type = types[b.nodes[i + tI]];
    let name = b.strings[b.nodes[i + nI]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    if (type === 'number') name = '(number)';
    if (name.length > 60) name = name.slice(0, 60);
    const key = DETAIL ? `${type}:${name} <- ${parent.get(i)}` : `${type}:${name}`;
    const e = by.get(key) ?? { n: 0, size: 0 };
    e.n++;
    e.size += b.nodes[i + sI];
    total += b.nodes[i + sI];
    by.set(key, e);
  }
  const rows = [...by].sort((x, y) => y[1].size - x[1].size).filter(([, e]) => e.n >= N * 0.5 || e.size >= N * 8);
  console.log(`new self size per conn: ${(total / N).toFixed(0)} B`);
  for (const [k, e] of rows.slice(0, 70)) console.log(`${(e.size / N).toFixed(1).padStart(8)} B  ${(e.n / N).toFixed(2).padStart(6)}/conn  ${k}`);
  process.exit(0);
}
