// wsx echo server (from dist): every message is sent back as it came (binary or text).
// --deflate enables permessage-deflate with its defaults.
import { WebSocketServer } from '../../dist/index.js';
import { hasFlag, serveControl } from './control.mjs';

const deflate = hasFlag('--deflate');
const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  ...(deflate ? { perMessageDeflate: true } : {}),
  message(ws, data, isBinary) {
    ws.send(data, isBinary);
  },
});
await server.ready();
serveControl(
  { impl: 'wsx', port: server.port, deflate },
  () => ({ clients: server.clients.size, dropped: server.droppedMessages }),
  () => server.close(),
);
