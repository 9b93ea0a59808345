// The floor of any Node.js fan-out server, for reference: node:http upgrade; connections on /sub
// are kept in an array; each socket read on /pub is unmasked once (small frames only: 7-bit
// lengths, which is all the fanout scenario sends; a frame cut by the read waits for the next
// one) and the frames it completes go to every subscriber in one socket.write each. Nothing is
// validated, nothing is counted, no backpressure. Not a WebSocket implementation: it shows what
// one net.Socket write per subscriber per read costs.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { serveControl } from './control.mjs';

const server = createServer();
const subs = [];
let clients = 0;
server.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  clients++;
  socket.on('error', () => {});
  if (req.url === '/sub') {
    subs.push(socket);
    socket.on('close', () => {
      clients--;
      const i = subs.indexOf(socket);
      if (i >= 0) subs.splice(i, 1);
    });
    return;
  }
  socket.on('close', () => clients--);
  let rest = null;
  socket.on('data', (chunk) => {
    const c = rest === null ? chunk : Buffer.concat([rest, chunk]);
    const out = Buffer.allocUnsafe(c.length);
    let p = 0;
    let o = 0;
    while (p + 6 <= c.length) {
      const len = c[p + 1] & 0x7f;
      if (len > 125 || p + 6 + len > c.length) break;
      out[o] = c[p];
      out[o + 1] = len;
      for (let i = 0; i < len; i++) out[o + 2 + i] = c[p + 6 + i] ^ c[p + 2 + (i & 3)];
      o += 2 + len;
      p += 6 + len;
    }
    rest = p < c.length ? Buffer.from(c.subarray(p)) : null;
    if (o === 0) return;
    const frames = out.subarray(0, o);
    for (let i = 0; i < subs.length; i++) subs[i].write(frames);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
serveControl({ impl: 'node', port: server.address().port }, () => ({ clients, subscribers: subs.length, dropped: 0 }), () => {
  server.closeAllConnections?.();
  server.close();
});
