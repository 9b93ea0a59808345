// The floor of any Node.js WebSocket server, for reference: node:http upgrade, then each socket
// read answered with one write, frames unmasked in a plain loop, nothing validated (small
// frames only: 7-bit lengths, which is all the echo-small and memory scenarios send).
// Not a WebSocket implementation; it shows what net.Socket itself costs in CPU and memory.
import { createServer } from 'node:http';
import { acceptUpgrade, unmaskFrames } from '../lib/floor.mjs';
import { serveControl } from './control.mjs';

const server = createServer();
let clients = 0;
server.on('upgrade', (req, socket) => {
  acceptUpgrade(req, socket);
  clients++;
  socket.on('close', () => clients--);
  socket.on('error', () => {});
  socket.on('data', (c) => socket.write(unmaskFrames(c)));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
serveControl({ impl: 'node', port: server.address().port }, () => ({ clients }), () => {
  server.closeAllConnections?.();
  server.close();
});
