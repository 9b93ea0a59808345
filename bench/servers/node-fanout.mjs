// The floor of any Node.js fan-out server, for reference: node:http upgrade; connections on /sub
// are kept in an array; each socket read on /pub is unmasked once (small frames only: 7-bit
// lengths, which is all the fanout scenario sends; a frame cut by the read waits for the next
// one) and the frames it completes go to every subscriber in one socket.write each. Nothing is
// validated, nothing is counted, no backpressure. Not a WebSocket implementation: it shows what
// one net.Socket write per subscriber per read costs.
import { createServer } from 'node:http';
import { acceptUpgrade, unmaskFrames, used } from '../lib/floor.mjs';
import { serveControl } from './control.mjs';

const server = createServer();
const subs = [];
let clients = 0;
server.on('upgrade', (req, socket) => {
  acceptUpgrade(req, socket);
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
    const frames = unmaskFrames(c);
    rest = used < c.length ? Buffer.from(c.subarray(used)) : null;
    if (frames.length === 0) return;
    for (let i = 0; i < subs.length; i++) subs[i].write(frames);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
serveControl({ impl: 'node', port: server.address().port }, () => ({ clients, subscribers: subs.length, dropped: 0 }), () => {
  server.closeAllConnections?.();
  server.close();
});
