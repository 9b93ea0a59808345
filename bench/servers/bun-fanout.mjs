// Bun fan-out server: connections on /sub subscribe to topic "t"; every message arriving on
// /pub is published with ws.publish (uWebSockets frames it once for all subscribers).
import { serveControl } from './control.mjs';

let clients = 0;
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, srv) {
    const path = new URL(req.url).pathname;
    if (srv.upgrade(req, { data: { sub: path === '/sub' } })) return undefined;
    return new Response('426 Upgrade Required\n', { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    open(ws) {
      clients++;
      if (ws.data.sub) ws.subscribe('t');
    },
    close() {
      clients--;
    },
    message(ws, message) {
      ws.publish('t', message);
    },
  },
});
serveControl({ impl: 'bun', port: server.port, bun: Bun.version }, () => ({ clients, subscribers: server.subscriberCount?.('t') }), () => server.stop(true));
