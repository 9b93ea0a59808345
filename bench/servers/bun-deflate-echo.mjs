// Bun echo server with permessage-deflate, for bench/deflate.mjs (run with `bun`, not node):
//   bun bun-deflate-echo.mjs --mode default|recompress|takeover|no-takeover|small-window
// Speaks the same control protocol on stdin/stdout as control.mjs (ready line; "stats" answers
// memory after a full GC; "exit"). Every message is echoed with compression requested
// (`send(data, true)`), since Bun compresses only when asked.
import { createInterface } from 'node:readline';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const MODES = {
  off: false,
  default: true,
  recompress: true, // Bun always compresses again
  'client-takeover': { compress: 'shared', decompress: 'dedicated' },
  takeover: { compress: 'dedicated', decompress: 'dedicated' },
  'no-takeover': { compress: 'shared', decompress: 'shared' },
  'small-window': { compress: '4KB', decompress: 'dedicated' },
};
const mode = arg('--mode', 'default');
if (!(mode in MODES)) throw new Error(`unknown mode ${mode}`);
let clients = 0;
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, srv) {
    if (srv.upgrade(req)) return undefined;
    return new Response('upgrade required', { status: 426 });
  },
  websocket: {
    perMessageDeflate: MODES[mode],
    open() {
      clients++;
    },
    close() {
      clients--;
    },
    message(ws, data) {
      ws.send(data, true);
    },
  },
});
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
out({ type: 'ready', pid: process.pid, impl: 'bun', port: server.port, mode, version: Bun.version });
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') {
    Bun.gc(true);
    out({ type: 'stats', mem: process.memoryUsage(), cpu: process.cpuUsage(), clients });
  } else if (cmd === 'exit') {
    server.stop(true);
    process.exit(0);
  }
});
rl.on('close', () => process.exit(0));
