// The floor of any Node.js WebSocket server, for reference: node:http upgrade, then each socket
// read answered with one write, frames unmasked in a plain loop, nothing validated (small
// frames only: 7-bit lengths, which is all the echo-small and memory scenarios send).
// Not a WebSocket implementation; it shows what net.Socket itself costs in CPU and memory.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { serveControl } from './control.mjs';

const server = createServer();
let clients = 0;
server.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  clients++;
  socket.on('close', () => clients--);
  socket.on('error', () => {});
  socket.on('data', (c) => {
    const out = Buffer.allocUnsafe(c.length);
    let p = 0;
    let o = 0;
    while (p + 6 <= c.length) {
      const len = c[p + 1] & 0x7f;
      if (len > 125 || p + 6 + len > c.length) break; // out of this floor's scope
      out[o] = c[p];
      out[o + 1] = len;
      for (let i = 0; i < len; i++) out[o + 2 + i] = c[p + 6 + i] ^ c[p + 2 + (i & 3)];
      o += 2 + len;
      p += 6 + len;
    }
    socket.write(out.subarray(0, o));
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
serveControl({ impl: 'node', port: server.address().port }, () => ({ clients }), () => {
  server.closeAllConnections?.();
  server.close();
});
