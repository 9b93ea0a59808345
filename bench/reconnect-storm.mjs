#!/usr/bin/env node
// A reconnect storm: N ReconnectingWebSocket clients, all dropped at once by the server (TCP
// reset), come back. Compares the jitter strategies in the same run, alternated round by
// round: "none" (every client waits exactly initialDelay), "equal" (half fixed, half random:
// what the chat page did before) and "full" (wsx's default: uniform in [0, ceiling)).
// Reports medians of: time until every client is back, and the most handshakes the server
// took in any 50 ms window (the load spike a restart causes).
//
//   npm run build && node bench/reconnect-storm.mjs [--clients 300] [--rounds 3] [--initial 1000]
import { parseArgs } from 'node:util';
import { ReconnectingWebSocket, WebSocketServer } from '../dist/index.js';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' }, initial: { type: 'string', default: '1000' } },
});
const N = Number(values.clients);
const ROUNDS = Number(values.rounds);
const INITIAL = Number(values.initial);
const WINDOW = 50;

const strategies = {
  none: () => 1 - Number.EPSILON, // the whole ceiling: everyone at initialDelay
  equal: () => 0.5 + Math.random() / 2,
  full: Math.random,
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function round(random) {
  const opens = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', open: () => void opens.push(performance.now()) });
  await wss.ready();
  const url = `ws://127.0.0.1:${wss.port}/`;
  const clients = [];
  let online = 0;
  const allOnline = (n) => new Promise((resolve) => {
    const check = () => (online >= n ? resolve() : setTimeout(check, 5));
    check();
  });
  for (let i = 0; i < N; i++) {
    const c = new ReconnectingWebSocket(url, [], { initialDelay: INITIAL, random });
    c.addEventListener('online', () => online++);
    clients.push(c);
  }
  await allOnline(N);
  opens.length = 0;
  online = 0;
  const cutAt = performance.now();
  for (const ws of wss.clients) ws.terminate();
  await allOnline(N);
  const backAfter = performance.now() - cutAt;
  // Most handshakes in any WINDOW ms.
  opens.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < opens.length; i++) {
    while (opens[i] - opens[j] > WINDOW) j++;
    peak = Math.max(peak, i - j + 1);
  }
  for (const c of clients) c.close();
  for (const ws of wss.clients) ws.terminate();
  await wss.close();
  return { backAfter, peak };
}

const results = Object.fromEntries(Object.keys(strategies).map((k) => [k, { backAfter: [], peak: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, random] of Object.entries(strategies)) {
    const { backAfter, peak } = await round(random);
    results[name].backAfter.push(backAfter);
    results[name].peak.push(peak);
  }
}
console.log(`reconnect storm: ${N} clients reset at once, initialDelay ${INITIAL} ms, ${ROUNDS} rounds alternated (medians)`);
console.log('strategy  all back after (ms)  peak handshakes per 50 ms');
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(9)} ${String(Math.round(median(r.backAfter))).padStart(19)}  ${String(median(r.peak)).padStart(25)}`);
}
