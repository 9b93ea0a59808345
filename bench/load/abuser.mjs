// One attacking raw TCP connection for bench/abuse.mjs. Usage:
//   node bench/load/abuser.mjs <port> <flood> <timeoutMs>
// Connects to 127.0.0.1:<port>, runs the opening handshake (offering permessage-deflate for
// the floods that need it), sends the flood, and prints one JSON line:
//   {"type":"flooded","flood","frames","wireBytes","ms","timedOut","closedBy":<close code>|null,
//    "socketClosed":bool}
// then stays connected (without reading, for the floods that never read) until a line on stdin.
// Frames use the all-zero masking key (RFC 6455 §5.3 asks clients for unpredictable keys; a
// server cannot tell), so one block of frames is built once and written again and again.
import { randomBytes, createHash } from 'node:crypto';
import { connect } from 'node:net';
import { constants, createDeflateRaw } from 'node:zlib';

const [portArg, flood, timeoutArg] = process.argv.slice(2);
const port = Number(portArg);
const timeoutMs = Number(timeoutArg ?? 20000);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const MiB = 1024 * 1024;
const FIN = 0x80;
const RSV1 = 0x40;
const Op = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9 };

/** A masked client frame with the zero masking key. */
function frame(first, payload = Buffer.alloc(0)) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([first, 0x80 | n]) : n < 65536 ? Buffer.from([first, 0x80 | 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = first;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** `count` copies of `one`, as blocks of about 64 KiB. */
function* repeated(one, count) {
  const perBlock = Math.max(1, Math.floor(65536 / one.length));
  const block = Buffer.concat(Array(perBlock).fill(one));
  let left = count;
  while (left >= perBlock) {
    yield block;
    left -= perBlock;
  }
  if (left > 0) yield block.subarray(0, left * one.length);
}

/** A permessage-deflate payload that inflates to `size` zero bytes (RFC 7692 §7.2.1: no 00 00 ff ff tail). */
async function bomb(size) {
  const z = createDeflateRaw({ level: 9 });
  const parts = [];
  z.on('data', (d) => parts.push(d));
  const zeros = Buffer.alloc(MiB);
  for (let done = 0; done < size; done += zeros.length) {
    if (!z.write(zeros)) await new Promise((r) => z.once('drain', r));
  }
  await new Promise((r) => z.flush(constants.Z_SYNC_FLUSH, r));
  const all = Buffer.concat(parts);
  return all.subarray(0, all.length - 4);
}

/** The flood: what to write, whether the attacker reads at all, and what it offers. */
async function plan(name) {
  const one = Buffer.from('x');
  switch (name) {
    case 'a': // one message as 4,000,000 one-byte continuation frames
      return { reads: true, frames: 4_000_000, parts: [frame(Op.BINARY, one), ...repeated(frame(Op.CONT, one), 3_999_998), frame(FIN | Op.CONT, one)] };
    case 'b': // 1,000,000 one-byte fragments (1,000,000 bytes, under a 1 MiB maxPayload)
      return { reads: true, frames: 1_000_000, parts: [frame(Op.BINARY, one), ...repeated(frame(Op.CONT, one), 999_998), frame(FIN | Op.CONT, one)] };
    case 'c': // 10,000,000 empty fragments
      return { reads: true, frames: 10_000_000, parts: [frame(Op.BINARY), ...repeated(frame(Op.CONT), 9_999_998), frame(FIN | Op.CONT)] };
    case 'd': // 2,000,000 pings, never reading a pong
      return { reads: false, frames: 2_000_000, parts: [...repeated(frame(FIN | Op.PING), 2_000_000)] };
    case 'e': // ask for 200 x 100 KB compressed, never read them
      return { reads: false, deflate: true, frames: 1, parts: [frame(FIN | Op.TEXT, Buffer.from('send-flood 200 100000'))], };
    case 'f': // one compressed message that inflates to 1 GiB
      return { reads: true, deflate: true, frames: 1, parts: [frame(FIN | RSV1 | Op.BINARY, await bomb(1024 * MiB))] };
    default:
      throw new Error(`unknown flood ${name}`);
  }
}

const p = await plan(flood);
const socket = connect(port, '127.0.0.1');
socket.on('error', () => {});
await new Promise((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('error', reject);
});
const key = randomBytes(16).toString('base64');
socket.write(
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (p.deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n' : '') +
    '\r\n',
);
// The response head (and, when reading, every frame after it: a close frame's code is noted).
let head = Buffer.alloc(0);
let closedBy = null;
let socketClosed = false;
let pongWanted = null;
let rest = Buffer.alloc(0);
const headDone = new Promise((resolve, reject) => {
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.removeListener('data', onData);
    const text = head.subarray(0, end).toString('latin1');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    if (!text.startsWith('HTTP/1.1 101') || !text.includes(accept)) return reject(new Error(`handshake failed: ${text.split('\r\n')[0]}`));
    if (p.deflate && !/permessage-deflate/i.test(text)) return reject(new Error('permessage-deflate was not negotiated'));
    rest = head.subarray(end + 4);
    resolve();
  };
  socket.on('data', onData);
  socket.once('close', () => reject(new Error('closed during the handshake')));
});
await headDone;
socket.on('close', () => {
  socketClosed = true;
  pongWanted?.();
});

/** Parses server frames (unmasked) just enough to see a close code and our final pong. */
function reader() {
  let buf = rest;
  socket.on('data', (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const opcode = buf[0] & 0x0f;
      const payload = buf.subarray(off, off + len);
      if (opcode === Op.CLOSE) closedBy = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (opcode === 0xa && payload.toString() === 'end') pongWanted?.();
      buf = buf.subarray(off + len);
    }
  });
}
if (p.reads) reader();
else socket.pause();

const started = performance.now();
let timedOut = false;
const deadline = setTimeout(() => (timedOut = true), timeoutMs);
let wireBytes = 0;
for (const part of p.parts) {
  if (timedOut || socketClosed) break;
  wireBytes += part.length;
  if (!socket.write(part)) {
    await new Promise((resolve) => {
      const done = () => {
        clearInterval(check);
        socket.removeListener('drain', done);
        socket.removeListener('close', done);
        resolve();
      };
      // The deadline must end a wait for a drain that never comes (a server that stopped reading).
      const check = setInterval(() => timedOut && done(), 50);
      socket.once('drain', done);
      socket.once('close', done);
    });
  }
}
// Reading floods: a ping "end" comes back once the server has processed everything before it.
if (p.reads && !timedOut && !socketClosed) {
  await new Promise((resolve) => {
    const finish = () => {
      clearInterval(check);
      pongWanted = null;
      resolve();
    };
    const check = setInterval(() => timedOut && finish(), 50);
    pongWanted = finish;
    socket.write(frame(FIN | Op.PING, Buffer.from('end')));
  });
}
clearTimeout(deadline);
out({ type: 'flooded', flood, frames: p.frames, wireBytes, ms: Math.round(performance.now() - started), timedOut, closedBy, socketClosed });
// Any line on stdin (or its end) ends the attack.
const stop = () => {
  socket.destroy();
  process.exit(0);
};
process.stdin.on('data', stop);
process.stdin.on('end', stop);
