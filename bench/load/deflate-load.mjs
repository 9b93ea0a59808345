// Load generator of bench/deflate.mjs: a cheap permessage-deflate client. Every message is a
// JSON chat message of ~1 KiB (64 distinct ones, made from a seeded generator), compressed once
// up front on its own (a client without context takeover, RFC 7692 §7.2.1 allows it), so the
// client spends nothing on zlib. One connection (the checker) inflates every echo it gets,
// with a context kept across messages as the negotiated parameters require, and compares it
// with what it sent; the others only count frames and wire bytes.
//   --mode echo:   `depth` messages in flight per connection for warm-up + duration seconds.
//   --mode memory: each connection sends one message and waits for its echo, then all stay open
//                  until "stop" on stdin.
// Prints JSON lines like bench/load/main.mjs: {"event":"open"}, {"event":"start"}, {"event":"end","result":{...}}.
// The handshake offers `permessage-deflate; client_max_window_bits`, as browsers do.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { constants as zc, createInflateRaw, deflateRawSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { FrameCounter, maskedFrame, OP_PONG, OP_TEXT } from './frames.mjs';

const { values: a } = parseArgs({
  options: {
    mode: { type: 'string', default: 'echo' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    conns: { type: 'string', default: '100' },
    depth: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    parallel: { type: 'string', default: '64' },
  },
  // Imported (bench/deflate-levels.mjs): the importer's arguments are not ours.
  args: import.meta.url === pathToFileURL(process.argv[1] ?? '').href ? undefined : [],
});
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// ---- messages -----------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32). */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = ('the a to and of in is it you that for on with this are be have not at was but what can all ' +
  'we they there just so about like if one out up do get now when time how know good new see more think ' +
  'deploy server build release test merge branch fix issue review queue latency memory socket message room ' +
  'channel user team meeting tomorrow today lunch coffee thanks please sure great idea plan draft doc link ' +
  'ticket customer report chart metric alert error retry timeout cache index query schema column table').split(' ');

/** `count` JSON chat messages of 1,024-1,200 bytes (all above the usual 1 KiB threshold). */
export function makeMessages(count, seed = 1) {
  const rnd = prng(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const out = [];
  for (let i = 0; i < count; i++) {
    const target = 1024 + Math.floor(rnd() * 176);
    const msg = {
      type: 'message',
      id: `m_${(1e9 + Math.floor(rnd() * 1e9)).toString(36)}`,
      room: `room-${Math.floor(rnd() * 50)}`,
      ts: 1764547200000 + Math.floor(rnd() * 86400000),
      user: { id: Math.floor(rnd() * 100000), name: `${pick(WORDS)}_${Math.floor(rnd() * 1000)}`, avatar: `https://cdn.example/a/${Math.floor(rnd() * 1e6)}.png` },
      mentions: Array.from({ length: Math.floor(rnd() * 3) }, () => `@${pick(WORDS)}${Math.floor(rnd() * 100)}`),
      reactions: { '+1': Math.floor(rnd() * 9), heart: Math.floor(rnd() * 5) },
      text: '',
    };
    let text = '';
    while (JSON.stringify({ ...msg, text }).length < target) text += (text ? ' ' : '') + pick(WORDS);
    msg.text = text;
    out.push(Buffer.from(JSON.stringify(msg)));
  }
  return out;
}

// ---- connections --------------------------------------------------------------------------

const messages = makeMessages(64);
/**
 * Each message as a masked text frame, built once per client window (RFC 7692 §7.1.2.2: the
 * client compresses within the negotiated client_max_window_bits); 0 = uncompressed.
 */
const frameSets = new Map();
function framesFor(windowBits) {
  let set = frameSets.get(windowBits);
  if (set === undefined) {
    set = messages.map((m) => {
      if (windowBits === 0) return maskedFrame(OP_TEXT, m);
      // zlib has no 8-bit raw window; 9 never reaches further back than 250 bytes.
      const z = deflateRawSync(m, { windowBits: Math.max(9, windowBits), finishFlush: zc.Z_SYNC_FLUSH });
      return maskedFrame(OP_TEXT, z.subarray(0, z.length - 4), { rsv1: true });
    });
    frameSets.set(windowBits, set);
  }
  return set;
}

function handshake(socket) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('handshake timeout')), 30_000);
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', fail);
      const text = head.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101 /.test(text)) return fail(new Error(`status: ${text.split('\r\n')[0]}`));
      if (!text.includes(accept)) return fail(new Error('bad Sec-WebSocket-Accept'));
      const ext = /^sec-websocket-extensions:(.*)$/im.exec(text)?.[1]?.trim() ?? '';
      if (ext !== '' && !ext.startsWith('permessage-deflate')) return fail(new Error(`unexpected extensions: ${ext}`));
      resolve({ ext, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.write(
      `GET / HTTP/1.1\r\nHost: ${a.host}:${a.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
    );
  });
}

/**
 * The checker's parser: every data message's payload in full, inflated in order with one
 * context (kept across messages: valid with or without server context takeover).
 */
class Checker {
  constructor(ext) {
    const bits = /server_max_window_bits=(\d+)/.exec(ext)?.[1];
    this.inflate = createInflateRaw({ windowBits: bits ? Number(bits) : 15 });
    this.buf = Buffer.alloc(0);
    this.expected = [];
    this.errors = 0;
    this.checked = 0;
    this.queue = Promise.resolve();
  }
  push(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const op = b[0] & 0x0f;
      const rsv1 = (b[0] & 0x40) !== 0;
      const payload = Buffer.from(b.subarray(off, off + len));
      this.buf = b.subarray(off + len);
      if (op !== 1 && op !== 2) continue; // no fragmentation expected from an echo of 1 KiB
      const want = this.expected.shift();
      if (!rsv1) {
        this.verdict(payload, want);
        continue;
      }
      const z = this.inflate;
      this.queue = this.queue.then(
        () =>
          new Promise((resolve) => {
            const parts = [];
            const onData = (d) => parts.push(d);
            z.on('data', onData);
            z.write(Buffer.concat([payload, TAIL]), () => {
              z.removeListener('data', onData);
              this.verdict(Buffer.concat(parts), want);
              resolve();
            });
          }),
      );
    }
  }
  verdict(got, want) {
    this.checked++;
    if (want === undefined || !got.equals(want)) this.errors++;
  }
}

const conns = [];
async function open(i) {
  const socket = connect({ host: a.host, port: Number(a.port) });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const { ext, rest } = await handshake(socket);
  const bits = ext === '' ? 0 : Number(/client_max_window_bits=(\d+)/.exec(ext)?.[1] ?? 15);
  const c = { i, socket, ext, frames: framesFor(bits), counter: new FrameCounter(null), checker: i === 0 ? new Checker(ext) : null, next: i % messages.length, sentAt: [], rawOut: [], done: 0 };
  socket.on('error', () => {});
  conns.push(c);
  return { c, rest };
}

// ---- echo and memory --------------------------------------------------------------------------

let measuring = false;
let count = 0;
let rawBytes = 0;
let lat = [];

function send(c, n) {
  const now = performance.now();
  const out = [];
  for (let k = 0; k < n; k++) {
    const j = c.next;
    c.next = (j + 1) % messages.length;
    out.push(c.frames[j]);
    c.sentAt.push(now);
    c.rawOut.push(messages[j].length);
    if (c.checker !== null) c.checker.expected.push(messages[j]);
  }
  c.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
}

function onData(c, chunk, again) {
  if (c.checker !== null) c.checker.push(chunk);
  const done = c.counter.push(chunk);
  while (c.counter.pings.length > 0) c.socket.write(maskedFrame(OP_PONG, c.counter.pings.shift()));
  if (done === 0) return;
  c.done += done;
  const now = performance.now();
  for (let k = 0; k < done; k++) {
    const t = c.sentAt.shift();
    const raw = c.rawOut.shift();
    if (measuring) {
      count++;
      rawBytes += raw;
      if ((count & 15) === 0) lat.push(now - t);
    }
  }
  if (again) send(c, done);
}

async function openAll(n, parallel) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const { c, rest } = await open(i);
      c.socket.on('data', (chunk) => onData(c, chunk, a.mode === 'echo'));
      if (rest.length > 0) onData(c, rest, a.mode === 'echo');
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, lane));
}

const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function main() {
  const n = Number(a.conns);
  await openAll(n, Number(a.parallel));
  if (a.mode === 'memory') {
    // One message each, then wait for every echo (bounded).
    for (const c of conns) send(c, 1);
    const until = Date.now() + 60_000;
    while (conns.some((c) => c.done < 1) && Date.now() < until) await sleep(20);
    const missing = conns.filter((c) => c.done < 1).length;
    await conns[0].checker.queue;
    emit({ event: 'open', open: conns.length, missing, ext: conns[0].ext, checked: conns[0].checker.checked, errors: conns[0].checker.errors + missing });
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (l) => {
      if (l.trim() === 'stop') {
        for (const c of conns) c.socket.destroy();
        process.exit(0);
      }
    });
    rl.on('close', () => process.exit(0));
    return;
  }
  emit({ event: 'open', open: conns.length, ext: conns[0].ext });
  const depth = Number(a.depth);
  for (const c of conns) send(c, depth);
  await sleep(Number(a.warmup) * 1000);
  for (const c of conns) c.counter.payloadBytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  emit({ event: 'start' });
  await sleep(Number(a.duration) * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let wire = 0;
  let compressed = 0;
  for (const c of conns) {
    wire += c.counter.payloadBytes;
    compressed += c.counter.compressed;
  }
  const checker = conns[0].checker;
  await Promise.race([checker.queue, sleep(5000)]);
  emit({
    event: 'end',
    result: {
      seconds,
      messages: count,
      msgsPerSec: count / seconds,
      // Payload bytes of the echoed messages per payload byte on the wire (server to client).
      ratio: wire > 0 ? rawBytes / wire : NaN,
      compressed,
      p50Ms: pct(lat, 0.5),
      p99Ms: pct(lat, 0.99),
      checked: checker.checked,
      errors: checker.errors,
      loadCpu: (cpu.user + cpu.system) / 1e6 / seconds,
      ext: conns[0].ext,
    },
  });
  for (const c of conns) c.socket.destroy();
  process.exit(0);
}

// Run as a program only (bench/deflate-levels.mjs imports makeMessages).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    emit({ event: 'error', message: String(err?.message ?? err) });
    process.exit(1);
  });
}
