// Bun echo server (run by the bun binary, see bench/lib/bun.mjs): Bun.serve's WebSocket
// (uWebSockets), every message sent back as it came. --deflate enables permessage-deflate.
import { hasFlag, serveControl } from './control.mjs';

const deflate = hasFlag('--deflate');
let clients = 0;
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, srv) {
    if (srv.upgrade(req)) return undefined;
    return new Response('426 Upgrade Required\n', { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    open() {
      clients++;
    },
    close() {
      clients--;
    },
    message(ws, message) {
      // Bun compresses a message only when asked (the second argument), as ws with a threshold.
      ws.send(message, deflate);
    },
  },
});
serveControl({ impl: 'bun', port: server.port, deflate, bun: Bun.version }, () => ({ clients }), () => server.stop(true));
