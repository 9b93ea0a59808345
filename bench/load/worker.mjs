// One load-generator thread: raw node:net sockets doing the handshake themselves, then
//   echo:   keeps `depth` pre-masked frames in flight per connection, answering every read
//           with one write of as many frames as it completed (latency per message, FIFO);
//   hold:   keeps the connections open and idle (answers pings);
//   fanout: subscribers on /sub only receive; the leader thread also runs the publisher on
//           /pub, keeping `depth` messages ahead of what its first subscriber has received.
// Controlled by the parent with messages: measure, report, go (fanout publisher), stop.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { checkHandshakeResponse, clientMessageFrame, FrameCounter, frameRun, handshakeRequest, makePayload, maskedFrame, OP_PONG } from './frames.mjs';

const cfg = workerData;
const HIST_US = 200_000; // 1 µs buckets up to 200 ms, then one overflow bucket
let hist = new Uint32Array(HIST_US + 1);
let messages = 0;
let bytes = 0;
let published = 0;
let measuring = false;
const conns = [];
const payload = makePayload(cfg.size);
const frame = clientMessageFrame(payload, { text: cfg.text, deflate: cfg.deflate });
const runs = frameRun(frame, Math.max(1, cfg.depth));
const expected = cfg.deflate ? null : payload;

function fail(err) {
  parentPort.postMessage({ type: 'error', message: String(err?.message ?? err) });
}

/** Opens one connection and resolves with it after a valid 101 response. */
function open(path) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: cfg.host, port: cfg.port });
    socket.setNoDelay(true);
    const { request, accept } = handshakeRequest(cfg.host, cfg.port, path, cfg.deflate);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('handshake timeout'));
    }, 20_000);
    const onData = (chunk) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) onError(new Error('handshake response too long'));
        return;
      }
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      const problem = checkHandshakeResponse(head.subarray(0, end).toString('latin1'), accept, cfg.deflate);
      if (problem !== null) {
        socket.destroy();
        reject(new Error(problem));
        return;
      }
      const c = { socket, counter: new FrameCounter(expected), sent: new Float64Array(Math.max(1, cfg.depth)), head: 0, inFlight: 0, received: 0 };
      socket.on('error', () => {});
      resolve({ c, rest: head.subarray(end + 4) });
    };
    const onError = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.write(request);
  });
}

/** Opens `count` connections to `path`, at most `parallel` handshakes at a time. */
async function openMany(count, path, parallel) {
  const out = new Array(count);
  let next = 0;
  async function lane() {
    while (next < count) {
      const i = next++;
      out[i] = await open(path);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return out;
}

function answerPings(c) {
  const pings = c.counter.pings;
  while (pings.length > 0) c.socket.write(maskedFrame(OP_PONG, pings.shift()));
}

// ---- echo -------------------------------------------------------------------------------

function sendFrames(c, n, now) {
  c.socket.write(runs[n]);
  const ring = c.sent;
  const size = ring.length;
  for (let i = 0; i < n; i++) ring[(c.head + c.inFlight + i) % size] = now;
  c.inFlight += n;
}

function echoData(c, chunk) {
  const done = c.counter.push(chunk);
  if (c.counter.pings.length > 0) answerPings(c);
  if (done === 0) return;
  const now = performance.now();
  if (measuring) {
    messages += done;
    const ring = c.sent;
    const size = ring.length;
    for (let i = 0; i < done; i++) {
      const us = Math.round((now - ring[(c.head + i) % size]) * 1000);
      hist[us < HIST_US ? us : HIST_US]++;
    }
  }
  c.head = (c.head + done) % c.sent.length;
  c.inFlight -= done;
  sendFrames(c, done, now);
}

// ---- fanout -------------------------------------------------------------------------------

let publisher = null;
let leader = null;

function subData(c, chunk) {
  const done = c.counter.push(chunk);
  if (c.counter.pings.length > 0) answerPings(c);
  if (done === 0) return;
  if (measuring) messages += done;
  c.received += done;
  if (c === leader && publisher !== null) {
    // Keep `depth` messages ahead of what the first subscriber has received.
    const ahead = published - c.received;
    let n = cfg.depth - ahead;
    while (n > 0) {
      const k = Math.min(n, cfg.depth);
      publisher.socket.write(runs[k]);
      published += k;
      n -= k;
    }
  }
}

// ---- control ----------------------------------------------------------------------------

parentPort.on('message', (msg) => {
  if (msg === 'measure') {
    hist = new Uint32Array(HIST_US + 1);
    messages = 0;
    bytes = 0;
    for (const c of conns) c.counter.payloadBytes = 0;
    for (const c of conns) c.counter.errors = 0;
    measuring = true;
  } else if (msg === 'report') {
    measuring = false;
    for (const c of conns) bytes += c.counter.payloadBytes;
    let errors = 0;
    let closed = 0;
    let compressed = 0;
    for (const c of conns) {
      errors += c.counter.errors;
      compressed += c.counter.compressed;
      if (c.counter.closed || c.socket.destroyed) closed++;
    }
    parentPort.postMessage({ type: 'report', messages, bytes, errors, closed, compressed, hist }, [hist.buffer]);
    hist = new Uint32Array(HIST_US + 1);
  } else if (msg === 'go') {
    // Fanout publisher: start with `depth` messages in flight.
    publisher.socket.write(runs[cfg.depth]);
    published += cfg.depth;
  } else if (msg === 'stop') {
    for (const c of conns) c.socket.destroy();
    if (publisher !== null) publisher.socket.destroy();
    parentPort.close();
    setTimeout(() => process.exit(0), 50).unref();
  }
});

async function main() {
  const parallel = cfg.parallel ?? 64;
  if (cfg.mode === 'fanout') {
    const opened = await openMany(cfg.conns, '/sub', parallel);
    for (const { c, rest } of opened) {
      conns.push(c);
      c.socket.on('data', (chunk) => subData(c, chunk));
      if (rest.length > 0) subData(c, rest);
    }
    if (cfg.leader) {
      leader = conns[0];
      const [{ c }] = await openMany(1, '/pub', 1);
      publisher = c;
      c.socket.on('data', (chunk) => {
        c.counter.push(chunk);
        if (c.counter.pings.length > 0) answerPings(c);
      });
    }
  } else {
    const opened = await openMany(cfg.conns, cfg.path ?? '/', parallel);
    for (const { c, rest } of opened) {
      conns.push(c);
      if (cfg.mode === 'echo') {
        c.socket.on('data', (chunk) => echoData(c, chunk));
        if (rest.length > 0) echoData(c, rest);
      } else {
        c.socket.on('data', (chunk) => {
          c.counter.push(chunk);
          if (c.counter.pings.length > 0) answerPings(c);
        });
      }
    }
    if (cfg.mode === 'echo') {
      const now = performance.now();
      for (const c of conns) sendFrames(c, cfg.depth, now);
    }
  }
  parentPort.postMessage({ type: 'ready', open: conns.length });
}

main().catch(fail);
