#!/usr/bin/env node
// In-process echo path: CPU per message of wsx's server-side JavaScript, without the kernel.
// A Transport and a ServerWebSocket (from a dist/ build) sit on a stream.Duplex whose writes
// complete at once; each "read" is a chunk of masked client frames emitted as 'data', the
// handler echoes with ws.send. The same reads go through the Node floor's loop
// (bench/servers/node-echo.mjs) on the same kind of Duplex. Builds are alternated per round;
// medians of ns CPU per message (includes refilling the chunk, which unmasking consumes).
// Usage: node bench/echo-path.mjs [--dist dist] [--dist .scratch/base-dist] [--mode bin|text]
//        [--per-read 16] [--size 32] [--rounds 5] [--reads 200000]
import { resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { unmaskFrames } from './lib/floor.mjs';

const { values: o } = parseArgs({
  options: {
    dist: { type: 'string', multiple: true },
    mode: { type: 'string', default: 'bin' },
    'per-read': { type: 'string' },
    size: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
    reads: { type: 'string', default: '200000' },
  },
});
const dists = o.dist ?? ['dist'];
const text = o.mode === 'text';
const perRead = Number(o['per-read'] ?? (text ? 1 : 16));
const size = Number(o.size);
if (size > 125) throw new Error('--size: at most 125 (7-bit lengths)');
const reads = Number(o.reads);

class InstantSocket extends Duplex {
  _write(_chunk, _enc, cb) {
    cb();
  }
  _writev(_chunks, cb) {
    cb();
  }
  _read() {}
}

/** One read: `perRead` masked frames of `size` bytes (ASCII text or binary). */
function template() {
  const one = Buffer.alloc(6 + size);
  one[0] = text ? 0x81 : 0x82;
  one[1] = 0x80 | size;
  one.set([0x12, 0x34, 0x56, 0x78], 2);
  for (let i = 0; i < size; i++) one[6 + i] = (97 + (i % 26)) ^ one[2 + (i & 3)];
  return Buffer.concat(Array.from({ length: perRead }, () => one));
}

async function wsxSocket(dir) {
  const base = pathToFileURL(resolve(dir)).href;
  const { Transport } = await import(`${base}/transport/transport.js`);
  const { ServerWebSocket } = await import(`${base}/server/server-websocket.js`);
  const { StatsCounters } = await import(`${base}/server/stats.js`);
  const socket = new InstantSocket();
  const options = { isServer: true, maxPayload: 100 * 1024 * 1024, closeTimeout: 1000, idleTimeout: 0 };
  const core = { counters: new StatsCounters(), options: { maxBackpressure: 1024 * 1024 }, handlers: { message: (ws, data, isBinary) => ws.send(data, isBinary) } };
  const t = new Transport(socket, null, options);
  // A net.Socket copies what it writes synchronously; so does this one (nothing is kept).
  t.copiesWrites = true;
  t.owner = new ServerWebSocket(core, t, undefined, '', '');
  t.start();
  return socket;
}

function floorSocket() {
  const socket = new InstantSocket();
  socket.on('data', (c) => socket.write(unmaskFrames(c)));
  return socket;
}

const tmpl = template();
const chunks = Array.from({ length: 64 }, () => Buffer.from(tmpl));
function run(socket, n) {
  for (let i = 0; i < n; i++) {
    const c = chunks[i & 63];
    c.set(tmpl);
    socket.emit('data', c);
  }
}

const subjects = [];
for (const d of dists) subjects.push({ name: d, socket: await wsxSocket(d), ns: [] });
subjects.push({ name: 'node floor loop', socket: floorSocket(), ns: [] });
for (const s of subjects) run(s.socket, 20_000);
for (let r = 0; r < Number(o.rounds); r++) {
  for (const s of subjects) {
    const c0 = process.cpuUsage();
    run(s.socket, reads);
    const c = process.cpuUsage(c0);
    s.ns.push(((c.user + c.system) * 1000) / (reads * perRead));
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${text ? 'text' : 'binary'}, ${perRead} x ${size} B masked frames per read, Node ${process.version}; ns CPU per message, median of ${o.rounds}`);
const first = median(subjects[0].ns);
for (const s of subjects) {
  const m = median(s.ns);
  console.log(`  ${s.name.padEnd(28)} ${m.toFixed(1).padStart(7)} ns   ${(first / m).toFixed(2)}x of ${subjects[0].name}`);
}
