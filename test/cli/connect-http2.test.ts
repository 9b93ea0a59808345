// `wsx connect --http2` (a child process) against an in-process wsx server with HTTP/2 on:
// the WebSocket runs over an RFC 8441 stream (with compression), over TLS with --insecure,
// and falls back to HTTP/1.1 against a server without HTTP/2; and against `wsx serve --http2`
// (both commands as processes).
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { selfSignedCert } from "../helpers/certs.js";
import { startEchoServer, type EchoServerOptions } from "../helpers/echo-server.js";
import { jsonLines, run, serve } from "./wsx.js";

interface Event {
  event: string;
  data?: string;
  code?: number;
  wasClean?: boolean;
  extensions?: string;
  http?: string;
}

/** An echo server recording, for each handshake, whether it came over HTTP/2. */
async function recordingServer(t: TestContext, options: EchoServerOptions): Promise<{ port: number; overHttp2: boolean[] }> {
  const overHttp2: boolean[] = [];
  const server = await startEchoServer(t, { ...options, upgrade: (_req, info) => void overHttp2.push(info.http2) });
  return { port: server.port, overHttp2 };
}

test("wsx connect --http2 --compress: echo over an RFC 8441 stream with permessage-deflate", async (t) => {
  const server = await recordingServer(t, { http2: true, perMessageDeflate: true });
  const r = await run(t, ["connect", `ws://127.0.0.1:${server.port}/`, "--http2", "--compress", "--json", "--replies", "1"], "over h2\n");
  assert.equal(r.code, 0, r.stderr);
  const events = jsonLines<Event>(r.stdout);
  assert.deepEqual(events.map((e) => e.event), ["open", "sent", "message", "close"]);
  assert.match(events[0].extensions ?? "", /^permessage-deflate/);
  assert.equal(events[0].http, "2");
  assert.equal(events[2].data, "over h2");
  assert.deepEqual([events[3].code, events[3].wasClean], [1000, true]);
  assert.deepEqual(server.overHttp2, [true]);
});

test("wsx connect --http2 --insecure: wss with a self-signed certificate, ALPN h2", async (t) => {
  const { cert, key } = selfSignedCert();
  const server = await recordingServer(t, { http2: { cert, key } });
  const r = await run(t, ["connect", `wss://localhost:${server.port}/`, "--http2", "--insecure", "--replies", "1"], "secure h2\n");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /connected to wss:\/\/localhost:\d+\/ over HTTP\/2\n/);
  assert.match(r.stdout, / < secure h2\n/);
  assert.deepEqual(server.overHttp2, [true]);
});

test("wsx connect --http2 against an HTTP/1.1-only server falls back and works", async (t) => {
  const server = await recordingServer(t, {});
  const r = await run(t, ["connect", `ws://127.0.0.1:${server.port}/`, "--http2", "--json", "--replies", "1"], "fallback\n");
  assert.equal(r.code, 0, r.stderr);
  const events = jsonLines<Event>(r.stdout);
  assert.equal(events[0].http, "1.1");
  assert.equal(events.find((e) => e.event === "message")?.data, "fallback");
  assert.deepEqual(server.overHttp2, [false]);
});

test("wsx connect --http2 --compress --insecure against wsx serve --http2 --compress", async (t) => {
  const served = await serve(t, ["--http2", "--compress", "--quiet"], "https");
  const port = served.host.split(":")[1];
  const text = "squeezed over h2 ".repeat(50);
  const r = await run(t, ["connect", `wss://localhost:${port}/echo`, "--http2", "--compress", "--insecure", "--json", "--replies", "1"], `${text}\n`);
  assert.equal(r.code, 0, r.stderr);
  const events = jsonLines<Event>(r.stdout);
  assert.deepEqual(events.map((e) => e.event), ["open", "sent", "message", "close"]);
  assert.equal(events[0].http, "2");
  assert.match(events[0].extensions ?? "", /^permessage-deflate/);
  assert.equal(events[2].data, text);
});
