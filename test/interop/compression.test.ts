// permessage-deflate against independent peers: the Python websockets client and headless
// Chromium talking to a wsx server with compression on; and a decompression bomb end to end.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createDeflateRaw, constants } from "node:zlib";
import { describe, test } from "node:test";
import { WebSocketServer } from "../../src/server/server.js";
import { launchChromium } from "../helpers/chromium.js";
import { missing } from "../support/components.js";
import { startEchoServer, waitFor } from "../support/echo-server.js";
import { runPythonClient } from "../support/python.js";
import { connectRaw, rawFrame } from "../support/raw-peer.js";

describe("wsx server ⇄ Python websockets client, compression negotiated", { skip: missing("python3-websockets") }, () => {
  test("extension accepted; text and binary round trips", async () => {
    const server = await startEchoServer({ perMessageDeflate: { threshold: 0 } });
    const text = "deflate me ".repeat(300);
    const out = (await runPythonClient(`ws://127.0.0.1:${server.port}/`, [text, "short", `BIN ${"00ff".repeat(500)}`], { compress: true })) as Array<Record<string, unknown>>;
    assert.deepEqual(out.slice(0, 3), [{ text }, { text: "short" }, { binary: "00ff".repeat(500) }]);
    assert.deepEqual(out[3], { close: 1000, extensions: ["PerMessageDeflate"] });
    await server.close();
  });
});

describe("wsx server ⇄ headless Chromium, compression negotiated", { skip: missing("chromium") }, () => {
  test("the browser's ws.extensions names permessage-deflate; round trips are exact", async () => {
    const http = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>t</title>");
    });
    const wss = new WebSocketServer({ server: http, path: "/ws", perMessageDeflate: { threshold: 0 }, message: (ws, d, b) => void ws.send(d, b) });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as AddressInfo).port;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      const result = await page.evaluate(
        `new Promise((resolve, reject) => {
          const ws = new WebSocket("ws://127.0.0.1:${port}/ws");
          ws.binaryType = "arraybuffer";
          const got = [];
          const text = "compressible ".repeat(1000);
          ws.onopen = () => { ws.send(text); ws.send(new Uint8Array([1, 2, 3, 250])); };
          ws.onmessage = (e) => {
            got.push(typeof e.data === "string" ? (e.data === text ? "text ok" : "text BAD") : Array.from(new Uint8Array(e.data)).join(","));
            if (got.length === 2) { const ext = ws.extensions; ws.close(); resolve({ ext, got }); }
          };
          ws.onerror = () => reject(new Error("websocket error"));
        })`,
      );
      const r = result as { ext: string; got: string[] };
      assert.match(r.ext, /^permessage-deflate/);
      assert.deepEqual(r.got, ["text ok", "1,2,3,250"]);
    } finally {
      await browser.close();
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});

/** A raw deflate stream of `bytes` zeros, made in streaming fashion (small in memory). */
async function deflatedZeros(bytes: number): Promise<Buffer> {
  const z = createDeflateRaw({ level: 9, memLevel: 9 }); // ~1:1000 on zeros
  const out: Buffer[] = [];
  z.on("data", (d: Buffer) => out.push(d));
  const chunk = Buffer.alloc(1 << 20);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!z.write(chunk)) await new Promise((r) => z.once("drain", r));
  }
  await new Promise<void>((r) => z.flush(constants.Z_SYNC_FLUSH, () => r()));
  z.close();
  const all = Buffer.concat(out);
  return all.subarray(0, all.length - 4); // RFC 7692 §7.2.1: without the 00 00 ff ff tail
}

describe("decompression bomb, end to end (RFC 7692 §8)", () => {
  test("a message inflating to 4 GiB is closed with 1009; memory stays bounded; others unaffected", async () => {
    const server = await startEchoServer({ perMessageDeflate: true, maxPayload: 8 * 1024 * 1024 });
    const bomb = await deflatedZeros(4 * 1024 * 1024 * 1024);
    // The compressed message itself is within maxPayload: only inflation can stop it.
    assert.ok(bomb.length < 8 * 1024 * 1024, `bomb is ${bomb.length} bytes compressed`);
    const other = await connectRaw(server.port, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
    const attacker = await connectRaw(server.port, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
    assert.match(attacker.responseHead, /permessage-deflate/);
    const before = process.memoryUsage();
    attacker.write(rawFrame({ opcode: 2, payload: bomb, rsv1: true }));
    const { code } = await attacker.readUntilClose(60_000);
    assert.equal(code, 1009);
    const after = process.memoryUsage();
    const grown = after.arrayBuffers - before.arrayBuffers;
    assert.ok(grown < 8 * 1024 * 1024 + bomb.length + 4 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);
    // The other connection still works (uncompressed frame on a compression-enabled connection).
    other.send({ opcode: 1, payload: "still fine" });
    const f = await other.nextFrame();
    assert.equal(f!.payload.toString(), "still fine");
    other.destroy();
    await waitFor(() => server.wss.clients.size === 0, 10_000, "cleanup");
    await server.close();
  });
});
