// Bun echo server (run by the bun binary, see bench/lib/bun.mjs): Bun.serve's WebSocket
// (uWebSockets), every message sent back as it came.
//   --deflate            permessage-deflate with Bun's default (bench/run.mjs)
//   --mode <name>        a permessage-deflate mode of bench/deflate.mjs: off, default,
//                        recompress, client-takeover, takeover, no-takeover, small-window
// Bun compresses a message only when `send` is asked to (its second argument), so with
// compression on every echo is sent with it requested.
import { serveControl } from './control.mjs';

const MODES = {
  off: false,
  default: true,
  recompress: true, // Bun always compresses again
  'client-takeover': { compress: 'shared', decompress: 'dedicated' },
  takeover: { compress: 'dedicated', decompress: 'dedicated' },
  'no-takeover': { compress: 'shared', decompress: 'shared' },
  'small-window': { compress: '4KB', decompress: 'dedicated' },
};
const at = process.argv.indexOf('--mode');
const mode = at > 0 ? process.argv[at + 1] : process.argv.includes('--deflate') ? 'default' : 'off';
if (!Object.hasOwn(MODES, mode)) throw new Error(`unknown mode ${mode}`);
const perMessageDeflate = MODES[mode];
const compress = perMessageDeflate !== false;
let clients = 0;
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, srv) {
    if (srv.upgrade(req)) return undefined;
    return new Response('426 Upgrade Required\n', { status: 426 });
  },
  websocket: {
    perMessageDeflate,
    open() {
      clients++;
    },
    close() {
      clients--;
    },
    message(ws, message) {
      ws.send(message, compress);
    },
  },
});
serveControl({ impl: 'bun', port: server.port, deflate: compress, mode, version: Bun.version, bun: Bun.version }, () => ({ clients }), () => server.stop(true));
