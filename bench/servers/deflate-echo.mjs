// Echo server with permessage-deflate in one of the modes of bench/deflate.mjs, for wsx or ws:
//   node deflate-echo.mjs --impl wsx|ws --mode default|recompress|takeover|no-takeover|small-window [--dist DIR]
// Every message is sent back compressed (as the library decides: threshold 1024 for both; wsx
// relays the client's payload when it may, unless --mode recompress).
// --dist points wsx at another build (e.g. an older commit's dist/) for before/after runs.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { serveControl } from './control.mjs';

const { values: a } = parseArgs({ options: { impl: { type: 'string' }, mode: { type: 'string', default: 'default' }, dist: { type: 'string' } } });

/** Per mode: wsx `perMessageDeflate`, ws `perMessageDeflate`. */
export const MODES = {
  // No compression at all: the baseline the other modes add to.
  off: { wsx: false, ws: false },
  // Each library's own defaults: wsx answers no context takeover both ways; ws keeps both contexts.
  default: { wsx: true, ws: true },
  // wsx's defaults without relaying: every echo compressed again (what the default costs when
  // the server sends messages it did not receive, e.g. with a field added).
  recompress: { wsx: { relay: false }, ws: true },
  // Context takeover both ways, 15-bit windows, memLevel 8 (ws's default, wsx before 0.2).
  takeover: { wsx: { serverNoContextTakeover: false, clientNoContextTakeover: false }, ws: true },
  // No context takeover either way (what Bun/uWebSockets answer by default).
  'no-takeover': { wsx: { serverNoContextTakeover: true, clientNoContextTakeover: true }, ws: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
  // The server compresses without context takeover (pooled compressor); the client keeps its
  // context with at most a 1 KiB window (when it offers client_max_window_bits, as browsers do).
  'client-takeover': { wsx: { serverNoContextTakeover: true, clientNoContextTakeover: false, clientMaxWindowBits: 10 }, ws: { serverNoContextTakeover: true, clientMaxWindowBits: 10 } },
  // Context takeover with 1 KiB windows and a small hash (memLevel 4): a few KiB of zlib state.
  'small-window': {
    wsx: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 },
    ws: { serverMaxWindowBits: 10, clientMaxWindowBits: 10, zlibDeflateOptions: { memLevel: 4 } },
  },
};

const mode = MODES[a.mode];
if (mode === undefined) throw new Error(`unknown mode ${a.mode}`);

if (a.impl === 'wsx') {
  const dist = a.dist ? pathToFileURL(resolve(a.dist, 'index.js')).href : '../../dist/index.js';
  const { WebSocketServer } = await import(dist);
  const server = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: mode.wsx,
    message(ws, data, isBinary) {
      ws.send(data, isBinary);
    },
  });
  await server.ready();
  serveControl({ impl: 'wsx', port: server.port, mode: a.mode }, () => ({ clients: server.clients.size }), () => server.close());
} else if (a.impl === 'ws') {
  const { WebSocketServer, nativeHelpers } = await import('./ws-native.mjs');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: mode.ws });
  wss.on('connection', (ws) => {
    ws.on('error', () => {}); // a peer's bad data closes that connection only
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise((r) => wss.once('listening', r));
  serveControl(
    { impl: 'ws', port: wss.address().port, mode: a.mode, native: nativeHelpers() },
    () => ({ clients: wss.clients.size }),
    () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
} else {
  throw new Error(`unknown impl ${a.impl}`);
}
