// ws fan-out server: every message arriving on /pub is sent to every other open client
// (the broadcast loop from ws's README); subscribers connect on /sub and only receive.
import { nativeHelpers, WebSocket, WebSocketServer } from './ws-native.mjs';
import { serveControl } from './control.mjs';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
await new Promise((resolve) => wss.once('listening', resolve));
serveControl(
  { impl: 'ws', port: wss.address().port, native: nativeHelpers() },
  () => ({ clients: wss.clients.size }),
  () => new Promise((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  }),
);
