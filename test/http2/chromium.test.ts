// Headless Chromium opens its WebSocket over HTTP/2 (RFC 8441) when the page's HTTP/2
// connection allows extended CONNECT: proved by the stream the server accepted.
import assert from "node:assert/strict";
import { createSecureServer } from "node:http2";
import { test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";
import { launchChromium } from "../helpers/chromium.js";
import { componentOrSkip } from "../helpers/components.js";

const PAGE = `<!doctype html><title>h2</title><script>
window.result = new Promise((resolve) => {
  const ws = new WebSocket("wss://" + location.host + "/ws", ["echo.v1"]);
  ws.onopen = () => ws.send("ping over h2");
  ws.onmessage = (e) => { resolve({ data: e.data, protocol: ws.protocol, extensions: ws.extensions }); ws.close(1000, "done"); };
  ws.onerror = () => resolve({ error: true });
});
window.denied = new Promise((resolve) => {
  const ws = new WebSocket("wss://" + location.host + "/ws?deny=1");
  ws.onopen = () => resolve("opened");
  ws.onclose = (e) => resolve("closed " + e.code);
});
</script>`;

test("Chromium's WebSocket rides the page's HTTP/2 connection: the server saw an extended CONNECT stream", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  const { cert, key } = selfSignedCert();
  const http2Server = createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(PAGE);
  });
  const seen: Array<{ http2: boolean; method: string; httpVersion: string }> = [];
  const closes: number[] = [];
  const wss = new WebSocketServer({
    server: http2Server,
    path: "/ws",
    protocols: ["echo.v1"],
    perMessageDeflate: true,
    upgrade: (req, info) => {
      seen.push({ http2: info.http2, method: req.method ?? "", httpVersion: req.httpVersion });
      if (info.path.endsWith("deny=1")) throw new HandshakeError(403, "not you");
    },
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
    close: (_ws, code) => void closes.push(code),
  });
  await new Promise<void>((resolve) => http2Server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await wss.close();
    // Not awaited: the browser's HTTP/2 connection stays open until the browser closes.
    http2Server.close();
  });
  const port = (http2Server.address() as { port: number }).port;
  const browser = await launchChromium({ t, args: ["--ignore-certificate-errors"] });
  const page = await browser.newPage();
  const response = await page.goto(`https://localhost:${port}/`);
  assert.equal(response?.status(), 200);
  const result = (await page.evaluate("window.result")) as { data?: string; protocol?: string; extensions?: string; error?: boolean };
  // A refusal by the hook is a status on the stream: the browser's WebSocket fails (1006).
  assert.equal(await page.evaluate("window.denied"), "closed 1006");
  const h2 = { http2: true, method: "CONNECT", httpVersion: "2.0" };
  assert.deepEqual(seen, [h2, h2], "both WebSockets came as RFC 8441 streams");
  assert.equal(wss.stats().handshakesRejected.hook, 1);
  assert.equal(result.error, undefined);
  assert.equal(result.data, "ping over h2");
  assert.equal(result.protocol, "echo.v1");
  assert.match(result.extensions ?? "", /permessage-deflate/);
});
