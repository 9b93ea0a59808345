// Loads `ws` and reports which native helpers it uses (the fastest configuration needs
// bufferutil for masking; UTF-8 validation uses Node's buffer.isUtf8 when it exists, else
// utf-8-validate), so a silent fallback to the JavaScript versions is visible in the results.
import { createRequire } from 'node:module';
import WebSocket, { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);

export function nativeHelpers() {
  const cache = Object.keys(require.cache);
  const mod = (name) => {
    const files = cache.filter((k) => k.includes(`/node_modules/${name}/`));
    if (files.length === 0) return 'not loaded';
    if (files.some((k) => k.endsWith('fallback.js'))) return 'js-fallback';
    const native = files.some((k) => k.endsWith('.node'));
    return native ? 'native' : 'loaded';
  };
  // node-gyp-build loads the addon with require(), so the .node file shows in require.cache.
  const { isUtf8 } = require('node:buffer');
  return {
    bufferutil: mod('bufferutil'),
    utf8: typeof isUtf8 === 'function' ? 'buffer.isUtf8 (built-in; ws prefers it)' : mod('utf-8-validate'),
  };
}

export { WebSocket, WebSocketServer };
