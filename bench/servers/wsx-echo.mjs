// wsx echo server (from dist): every message is sent back as it came (binary or text).
// --deflate enables permessage-deflate with its defaults; --max-backpressure N sets that limit.
// WSX_BENCH_DIST: another build of wsx (bench/run.mjs --baseline), else this one.
const { WebSocketServer } = await import(process.env.WSX_BENCH_DIST ?? '../../dist/index.js');
import { hasFlag, serveControl } from './control.mjs';

const deflate = hasFlag('--deflate');
const mb = process.argv.indexOf('--max-backpressure');
const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  ...(mb > 0 ? { maxBackpressure: Number(process.argv[mb + 1]) } : {}),
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
