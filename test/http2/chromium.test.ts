// Headless Chromium opens its WebSocket over HTTP/2 (RFC 8441) when the page's HTTP/2
// connection allows extended CONNECT: proved by the stream the server accepted.
import assert from "node:assert/strict";
import { createSecureServer } from "node:http2";
import { test } from "node:test";
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
    upgrade: (req, info) => void seen.push({ http2: info.http2, method: req.method ?? "", httpVersion: req.httpVersion }),
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
  assert.deepEqual(seen, [{ http2: true, method: "CONNECT", httpVersion: "2.0" }], "the WebSocket came as an RFC 8441 stream");
  assert.equal(result.error, undefined);
  assert.equal(result.data, "ping over h2");
  assert.equal(result.protocol, "echo.v1");
  assert.match(result.extensions ?? "", /permessage-deflate/);
});
