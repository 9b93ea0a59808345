// wsx fan-out server: connections on /sub subscribe to topic "t"; every message arriving on
// /pub is published to the topic (framed once for all subscribers).
// WSX_BENCH_DIST: another build of wsx (bench/run.mjs --baseline), else this one.
const { WebSocketServer } = await import(process.env.WSX_BENCH_DIST ?? '../../dist/index.js');
import { serveControl } from './control.mjs';

const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  message(ws, data, isBinary) {
    ws.publish('t', data, isBinary);
  },
});
server.on('connection', (ws, req) => {
  if (req.url === '/sub') ws.subscribe('t');
});
await server.ready();
serveControl(
  { impl: 'wsx', port: server.port },
  () => ({ clients: server.clients.size, subscribers: server.subscriberCount('t'), dropped: server.droppedMessages }),
  () => server.close(),
);
