// wsx echo server (from dist): every message is sent back as it came (binary or text).
// --deflate enables permessage-deflate with its defaults; --max-backpressure N sets that limit;
// --http2 serves RFC 8441 streams over cleartext HTTP/2 (prior knowledge) beside HTTP/1.1
// upgrades, on the same port. WSX_BENCH_DIST: another build of wsx (bench/run.mjs --baseline).
import { hasFlag, serveControl } from './control.mjs';
const { WebSocketServer } = await import(process.env.WSX_BENCH_DIST ?? '../../dist/index.js');

const deflate = hasFlag('--deflate');
const mb = process.argv.indexOf('--max-backpressure');
const http2 = hasFlag('--http2');
// --h2-window <bytes>: SETTINGS_INITIAL_WINDOW_SIZE of the HTTP/2 listener (default 65535).
const windowAt = process.argv.indexOf('--h2-window');
const h2Window = windowAt > 0 ? Number(process.argv[windowAt + 1]) : undefined;
const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  ...(mb > 0 ? { maxBackpressure: Number(process.argv[mb + 1]) } : {}),
  ...(deflate ? { perMessageDeflate: true } : {}),
  ...(http2 ? { http2: { maxConcurrentStreams: 2000, ...(h2Window ? { settings: { initialWindowSize: h2Window } } : {}) } } : {}),
  message(ws, data, isBinary) {
    ws.send(data, isBinary);
  },
});
await server.ready();
serveControl(
  { impl: 'wsx', port: server.port, deflate, http2 },
  () => ({ clients: server.clients.size, dropped: server.droppedMessages }),
  () => server.close(),
);
