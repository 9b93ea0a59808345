#!/usr/bin/env node
// Client scenario: one WebSocket client implementation drives small-message echo against an
// echo server: --conns connections, --depth messages in flight each, every echo answered with
// one send. Prints the same JSON lines as main.mjs ({"event":"open"|"start"|"end"|"skipped"}).
// --impl wsx (this package's client, from dist) | ws (the ws client, no permessage-deflate) |
//        undici (undici's WHATWG WebSocket).
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    impl: { type: 'string', default: 'wsx' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    conns: { type: 'string', default: '50' },
    depth: { type: 'string', default: '16' },
    size: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
  },
});

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const url = `ws://${a.host}:${a.port}/`;
const conns = Number(a.conns);
const depth = Number(a.depth);
const payload = new Uint8Array(Number(a.size)).fill(0x61);
let messages = 0;
let errors = 0;

/** Returns a function opening one connection: resolves with { send, close } once open. */
async function loadImpl(impl) {
  if (impl === 'wsx') {
    let mod;
    try {
      mod = await import(process.env.WSX_BENCH_DIST ?? '../../dist/index.js');
    } catch {
      return null;
    }
    if (typeof mod.WebSocket !== 'function') return null;
    return whatwg(mod.WebSocket);
  }
  if (impl === 'undici') {
    const { WebSocket } = await import('undici');
    return whatwg(WebSocket);
  }
  if (impl === 'ws') {
    const { default: WS } = await import('ws');
    return () =>
      new Promise((resolve, reject) => {
        const ws = new WS(url, { perMessageDeflate: false });
        ws.on('message', (data) => {
          if (data.length !== payload.length) errors++;
          messages++;
          ws.send(payload);
        });
        ws.on('error', reject);
        ws.on('open', () => resolve({ send: () => ws.send(payload), close: () => ws.terminate() }));
      });
  }
  throw new Error(`unknown client ${impl}`);
}

/** Drives a WHATWG-API client (wsx and undici) with binaryType "arraybuffer". */
function whatwg(WebSocketClass) {
  return () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocketClass(url);
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (ev) => {
        if (ev.data.byteLength !== payload.length) errors++;
        messages++;
        ws.send(payload);
      };
      ws.onerror = () => reject(new Error('client error'));
      ws.onopen = () => resolve({ send: () => ws.send(payload), close: () => ws.close() });
    });
}

async function main() {
  const openOne = await loadImpl(a.impl);
  if (openOne === null) {
    emit({ event: 'skipped', reason: 'client not built' });
    return;
  }
  const clients = [];
  for (let i = 0; i < conns; i++) clients.push(await openOne());
  emit({ event: 'open', open: clients.length });
  for (const c of clients) for (let i = 0; i < depth; i++) c.send();
  await sleep(Number(a.warmup) * 1000);
  messages = 0;
  errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  emit({ event: 'start' });
  await sleep(Number(a.duration) * 1000);
  const n = messages;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  emit({
    event: 'end',
    result: { open: clients.length, seconds, messages: n, msgsPerSec: n / seconds, mbPerSec: (n * payload.length) / seconds / 1e6, errors, loadCpu: (cpu.user + cpu.system) / 1e6 / seconds, workers: 1 },
  });
  for (const c of clients) c.close();
  setTimeout(() => process.exit(0), 300).unref();
}

main().catch((err) => {
  emit({ event: 'error', message: String(err?.message ?? err) });
  process.exit(1);
});
