// The server under attack in bench/abuse.mjs: an echo server (wsx or ws, `--impl`) with the
// same limits for both (`--max-payload <bytes>`, `--deflate` for permessage-deflate), that also
// sends `<count>` messages of `<size>` bytes to a client that asks with the text message
// "send-flood <count> <size>", and measures its own RSS while an attack runs:
//   mark  -> gc, then remembers RSS as the baseline and samples RSS every 5 ms: {"type":"marked"}
//   peak  -> {"type":"peak","baseline","peak","now"} (bytes; `now` after gc), stops sampling
// Run with --expose-gc.
import { hasFlag, serveControl } from './control.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const impl = arg('--impl', 'wsx');
const maxPayload = Number(arg('--max-payload', String(16 * 1024 * 1024)));
const deflate = hasFlag('--deflate');
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/** The bytes sent by "send-flood": 1 KiB of random bytes repeated (compresses, but not to nothing). */
function floodPayload(size) {
  const block = Buffer.alloc(1024);
  for (let i = 0; i < block.length; i++) block[i] = (Math.random() * 256) | 0;
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i += block.length) block.copy(payload, i);
  return payload;
}

function parseFlood(data, isBinary) {
  if (isBinary || data.length > 64) return null;
  const m = /^send-flood (\d+) (\d+)$/.exec(data.toString());
  return m === null ? null : { count: Number(m[1]), size: Number(m[2]) };
}

let clients;
let close;
let port;
if (impl === 'wsx') {
  const { WebSocketServer } = await import('../../dist/index.js');
  const server = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    maxPayload,
    // maxBackpressure and its policy stay at their defaults, as an application would have them.
    ...(deflate ? { perMessageDeflate: true } : {}),
    message(ws, data, isBinary) {
      const flood = parseFlood(data, isBinary);
      if (flood === null) return void ws.send(data, isBinary);
      const payload = floodPayload(flood.size);
      for (let i = 0; i < flood.count; i++) ws.send(payload, true, true);
      out({ type: 'flood-sent' });
    },
  });
  await server.ready();
  port = server.port;
  clients = () => server.clients.size;
  close = () => server.close();
} else {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload, perMessageDeflate: deflate });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const flood = parseFlood(data, isBinary);
      if (flood === null) return void ws.send(data, { binary: isBinary });
      const payload = floodPayload(flood.size);
      for (let i = 0; i < flood.count; i++) ws.send(payload, { binary: true, compress: true });
      out({ type: 'flood-sent' });
    });
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  port = wss.address().port;
  clients = () => wss.clients.size;
  close = () =>
    new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    });
}

const gc = () => {
  globalThis.gc?.();
  globalThis.gc?.();
};
let baseline = 0;
let peak = 0;
let sampler = null;
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
};

serveControl(
  { impl, port, deflate, maxPayload },
  () => ({ clients: clients() }),
  () => close(),
  {
    mark: () => {
      gc();
      baseline = process.memoryUsage.rss();
      peak = baseline;
      clearInterval(sampler);
      sampler = setInterval(sample, 5);
      return { type: 'marked', baseline };
    },
    peak: () => {
      sample();
      clearInterval(sampler);
      sampler = null;
      gc();
      return { type: 'peak', baseline, peak, now: process.memoryUsage.rss() };
    },
  },
);
