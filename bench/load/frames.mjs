// Client-side RFC 6455 pieces for the load generator: the opening handshake done by hand on a
// raw socket, pre-masked frames built once, and an incremental parser for server frames that
// never copies payloads (it only counts them and, optionally, compares them with the expected
// bytes). Everything here is meant to cost the generator as little CPU as possible.
import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync, constants as zc } from 'node:zlib';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

/** A deterministic payload: ASCII (valid UTF-8, compressible like typical JSON). */
export function makePayload(size, seed = 0) {
  const text = '{"id":12345,"type":"tick","price":101.25,"qty":7,"side":"buy","venue":"X"}';
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = text.charCodeAt((i + seed) % text.length);
  return b;
}

/** One masked client frame (FIN set). */
export function maskedFrame(opcode, payload, { rsv1 = false, maskKey = randomBytes(4) } = {}) {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + ext + 4 + len);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (ext === 0) frame[1] = 0x80 | len;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  const m = 2 + ext;
  maskKey.copy(frame, m);
  for (let i = 0; i < len; i++) frame[m + 4 + i] = payload[i] ^ maskKey[i & 3];
  return frame;
}

/**
 * The frame the generator sends for `payload`: with deflate, the payload is compressed once on
 * its own (no context takeover on our side is always allowed, RFC 7692 §7.2.1), so the same
 * bytes are valid for every message.
 */
export function clientMessageFrame(payload, { text = false, deflate = false } = {}) {
  const opcode = text ? OP_TEXT : OP_BINARY;
  if (!deflate) return maskedFrame(opcode, payload);
  const z = deflateRawSync(payload, { finishFlush: zc.Z_SYNC_FLUSH });
  // RFC 7692 §7.2.1: drop the 0x00 0x00 0xff 0xff tail of the sync flush.
  const body = z.subarray(0, z.length - 4);
  return maskedFrame(opcode, body, { rsv1: true });
}

/** `count` copies of `frame` back to back, and views of the first 1..count of them. */
export function frameRun(frame, count) {
  const all = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(all, i * frame.length);
  const views = [Buffer.alloc(0)];
  for (let i = 1; i <= count; i++) views.push(all.subarray(0, i * frame.length));
  return views;
}

export function handshakeRequest(host, port, path, deflate) {
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (deflate) lines.push('Sec-WebSocket-Extensions: permessage-deflate');
  return { request: Buffer.from(lines.join('\r\n') + '\r\n\r\n'), accept };
}

/**
 * Checks a handshake response head (text up to the blank line). Returns null when it is
 * acceptable, else the reason.
 */
export function checkHandshakeResponse(head, accept, deflate) {
  const lines = head.split('\r\n');
  if (!/^HTTP\/1\.1 101 /.test(lines[0])) return `status line: ${lines[0]}`;
  let gotAccept = null;
  let ext = '';
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim().toLowerCase();
    const value = l.slice(i + 1).trim();
    if (name === 'sec-websocket-accept') gotAccept = value;
    else if (name === 'sec-websocket-extensions') ext = value;
  }
  if (gotAccept !== accept) return 'bad Sec-WebSocket-Accept';
  if (deflate && !/permessage-deflate/.test(ext)) return 'permessage-deflate not negotiated';
  if (!deflate && ext !== '') return `unexpected extensions: ${ext}`;
  return null;
}

/**
 * Incremental parser of unmasked server frames. `onMessages(n)` is called once per chunk with
 * the number of complete messages (FIN data frames) in it, so callers can answer a whole read
 * with one write. Payloads of data frames are compared with `expected` (when given) without
 * copying; mismatches are counted in `errors`.
 */
export class FrameCounter {
  constructor(expected) {
    this.expected = expected; // Buffer or null (no check)
    this.errors = 0;
    this.compressed = 0; // data frames with RSV1 set
    this.payloadBytes = 0;
    this.closed = false;
    this.pings = [];
    this.hdr = Buffer.allocUnsafe(14);
    this.hdrLen = 0;
    this.remaining = 0; // payload bytes left in the current frame
    this.offset = 0; // payload bytes of the current frame seen so far
    this.opcode = 0;
    this.fin = false;
    this.ctrl = null; // control-frame payload being collected
  }

  /** Feeds a chunk; returns the number of complete data messages it finished. */
  push(chunk) {
    let pos = 0;
    let done = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - pos);
        this.body(chunk, pos, take);
        pos += take;
        this.remaining -= take;
        this.offset += take;
        if (this.remaining === 0) done += this.endFrame();
        continue;
      }
      // Header: fast path when it is entirely in this chunk and nothing is pending.
      let b0;
      let b1;
      let len;
      let hlen;
      if (this.hdrLen === 0 && n - pos >= 2) {
        b0 = chunk[pos];
        b1 = chunk[pos + 1];
        len = b1 & 0x7f;
        hlen = len < 126 ? 2 : len === 126 ? 4 : 10;
        if (n - pos >= hlen) {
          if (len === 126) len = chunk.readUInt16BE(pos + 2);
          else if (len === 127) len = Number(chunk.readBigUInt64BE(pos + 2));
          pos += hlen;
        } else {
          hlen = -1;
        }
      } else {
        hlen = -1;
      }
      if (hlen === -1) {
        // Slow path: collect the header byte by byte across chunks.
        this.hdr[this.hdrLen++] = chunk[pos++];
        if (this.hdrLen < 2) continue;
        const l = this.hdr[1] & 0x7f;
        const need = l < 126 ? 2 : l === 126 ? 4 : 10;
        if (this.hdrLen < need) continue;
        b0 = this.hdr[0];
        b1 = this.hdr[1];
        len = l === 126 ? this.hdr.readUInt16BE(2) : l === 127 ? Number(this.hdr.readBigUInt64BE(2)) : l;
        this.hdrLen = 0;
      }
      if (b1 & 0x80) {
        this.errors++; // servers must not mask
      }
      this.fin = (b0 & 0x80) !== 0;
      const op = b0 & 0x0f;
      if (op !== 0) this.opcode = op;
      if (op !== 0 && (b0 & 0x40) !== 0) this.compressed++;
      this.currentOp = op;
      this.ctrl = op >= 8 ? [] : null;
      this.remaining = len;
      this.offset = op === 0 ? this.offset : 0;
      if (len === 0) done += this.endFrame();
    }
    return done;
  }

  body(chunk, pos, take) {
    if (this.ctrl !== null) {
      this.ctrl.push(chunk.subarray(pos, pos + take));
      return;
    }
    this.payloadBytes += take;
    const e = this.expected;
    if (e !== null && (this.offset + take > e.length || chunk.compare(e, this.offset, this.offset + take, pos, pos + take) !== 0)) this.errors++;
  }

  endFrame() {
    const op = this.currentOp;
    if (op >= 8) {
      if (op === OP_CLOSE) this.closed = true;
      else if (op === OP_PING) this.pings.push(Buffer.concat(this.ctrl));
      this.ctrl = null;
      return 0;
    }
    if (!this.fin) return 0;
    if (this.expected !== null && this.offset !== this.expected.length) this.errors++;
    this.offset = 0;
    return 1;
  }
}
