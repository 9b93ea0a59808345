// ws echo server in its fastest configuration: bufferutil (verified loaded, see ws-native.mjs),
// no permessage-deflate unless --deflate.
import { nativeHelpers, WebSocketServer } from './ws-native.mjs';
import { hasFlag, serveControl } from './control.mjs';

const deflate = hasFlag('--deflate');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
await new Promise((resolve) => wss.once('listening', resolve));
serveControl(
  { impl: 'ws', port: wss.address().port, deflate, native: nativeHelpers() },
  () => ({ clients: wss.clients.size }),
  () => new Promise((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  }),
);
