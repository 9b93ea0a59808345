// The Node floor's two pieces, shared by its servers (servers/node-echo.mjs, node-fanout.mjs)
// and the in-process benches (echo-path.mjs, idle-heap.mjs): what any net.Socket WebSocket
// server must do at the least. Not a WebSocket implementation: nothing is validated.
import { createHash } from 'node:crypto';

/** Answers an upgrade with 101 (RFC 6455 §4.2.2) and turns Nagle off, as every server does. */
export function acceptUpgrade(req, socket) {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay?.(true);
}

/**
 * Unmasks the whole client frames at the start of `c` into server frames, in one plain loop
 * (small frames only: 7-bit lengths; it stops at the first frame it cannot take whole).
 * Returns the frames; {@link used} is then how many input bytes they took (a live binding:
 * no object per read, so the floor stays a floor).
 */
export let used = 0;
export function unmaskFrames(c) {
  const out = Buffer.allocUnsafe(c.length);
  let p = 0;
  let o = 0;
  while (p + 6 <= c.length) {
    const len = c[p + 1] & 0x7f;
    if (len > 125 || p + 6 + len > c.length) break; // out of the floor's scope, or cut by the read
    out[o] = c[p];
    out[o + 1] = len;
    for (let i = 0; i < len; i++) out[o + 2 + i] = c[p + 6 + i] ^ c[p + 2 + (i & 3)];
    o += 2 + len;
    p += 6 + len;
  }
  used = p;
  return out.subarray(0, o);
}
