// permessage-deflate against independent peers: the Python websockets client and headless
// Chromium talking to a wsx server with compression on; and a decompression bomb end to end.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { constants, deflateRawSync } from "node:zlib";
import { describe, test, type TestContext } from "node:test";
import { WebSocketServer } from "../../src/server/server.js";
import { launchChromium } from "../helpers/chromium.js";
import { skipUnless } from "../helpers/components.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { formatBytes, MiB, watchArrayBuffers } from "../helpers/memory.js";
import { runPythonClient } from "../helpers/python.js";
import { connectRaw, encodeFrame, Opcode } from "../helpers/raw-client.js";
import { waitUntil } from "../helpers/time.js";

describe("wsx server ⇄ Python websockets client, compression negotiated", { skip: await skipUnless("python3-websockets") }, () => {
  test("extension accepted; text and binary round trips", async (t) => {
    const server = await startEchoServer({ t, perMessageDeflate: { threshold: 0 } });
    const text = "deflate me ".repeat(300);
    const binary = Buffer.from("00ff".repeat(500), "hex");
    const r = await runPythonClient(server.url, [text, "short", binary], { t, compression: true });
    assert.equal(r.error, null, r.stderr);
    assert.deepEqual(r.open?.extensions, ["PerMessageDeflate"]);
    assert.deepEqual(r.messages, [
      { type: "text", data: text },
      { type: "text", data: "short" },
      { type: "binary", data: binary },
    ]);
    assert.deepEqual(r.close, { code: 1000, reason: "" });
    assert.equal(r.ok, true);
  });
});

describe("wsx server ⇄ headless Chromium, compression negotiated", { skip: await skipUnless("chromium") }, () => {
  test("the browser's ws.extensions names permessage-deflate; round trips are exact", async (t) => {
    const http = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>t</title>");
    });
    const wss = new WebSocketServer({ server: http, path: "/ws", perMessageDeflate: { threshold: 0 }, message: (ws, d, b) => void ws.send(d, b) });
    t.after(async () => {
      await wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as AddressInfo).port;
    const browser = await launchChromium({ t });
    {
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
    }
  });
});

/**
 * A raw deflate stream (RFC 7692 §7.2.1: sync-flushed, without the final 00 00 ff ff) of
 * `mebibytes` MiB of zeros, built in milliseconds: the first MiB compressed on its own, then
 * one block sequence for a MiB of zeros compressed against a window of zeros, repeated. The
 * repeated part only refers back to zeros, which is what precedes it. (Checked once: the
 * 4 GiB stream inflates to exactly 4 GiB of zeros.)
 */
function zeroBomb(mebibytes: number): Buffer {
  const zeros = Buffer.alloc(MiB);
  const options = { level: 9, memLevel: 9, finishFlush: constants.Z_SYNC_FLUSH };
  const first = deflateRawSync(zeros, options);
  const next = deflateRawSync(zeros, { ...options, dictionary: Buffer.alloc(32 * 1024) });
  const stream = Buffer.concat([first, ...Array.from({ length: mebibytes - 1 }, () => next)]);
  return stream.subarray(0, stream.length - 4);
}

describe("decompression bomb, end to end (RFC 7692 §8)", () => {
  const maxPayload = 8 * MiB;
  const offer = { "Sec-WebSocket-Extensions": "permessage-deflate" };

  /** Sends a 4 GiB bomb on a fresh connection to `server` and waits for the 1009 close. */
  async function explode(t: TestContext, port: number, frame: Buffer): Promise<void> {
    const attacker = await connectRaw(port, { t, headers: offer });
    assert.match(attacker.response.headers["sec-websocket-extensions"] ?? "", /^permessage-deflate/);
    attacker.write(frame);
    await attacker.expectClose(1009, { timeoutMs: 60_000 });
  }

  test("a message inflating to 4 GiB is closed with 1009; memory stays bounded; others unaffected", async (t) => {
    const server = await startEchoServer({ t, perMessageDeflate: true, maxPayload });
    const bomb = zeroBomb(4 * 1024);
    // The compressed message itself is within maxPayload: only inflation can stop it.
    assert.ok(bomb.length < maxPayload, `bomb is ${bomb.length} bytes compressed`);
    const other = await connectRaw(server.port, { t, headers: offer });
    const frame = encodeFrame({ opcode: Opcode.BINARY, rsv1: true, payload: bomb });

    // The test's own buffers (bomb, frame) exist before the baseline, so they are not counted.
    const watch = await watchArrayBuffers();
    await explode(t, server.port, frame);
    const { peak } = await watch.stop();
    // What the server may hold at once: the frame as read (chunks, then the assembled payload:
    // 2 x frame), the inflated output up to the limit plus one inflate chunk, and the message
    // assembled from it (2 x maxPayload), plus 1 MiB for the socket and zlib buffers. An
    // unbounded inflate would hold gibibytes.
    const peakBound = 2 * frame.length + 2 * maxPayload + MiB;
    assert.ok(peak < peakBound, `arrayBuffers peaked ${formatBytes(peak)} above the baseline (bound ${formatBytes(peakBound)})`);

    // The other connection still works (an uncompressed frame on a compression-enabled connection).
    other.sendText("still fine");
    const echoed = await other.nextFrame();
    assert.equal(echoed.payload.toString(), "still fine");
  });

  test(
    // A zlib stream destroyed inside its own 'data' event parked the rest of the message on a
    // `_read` that never came, keeping it (and, through the write callback, the connection)
    // referenced: contexts are now destroyed a tick later, and jobs drop input and callback.
    "nothing of a refused bomb stays referenced once its connection is closed",
    async (t) => {
      const server = await startEchoServer({ t, perMessageDeflate: true, maxPayload });
      const frame = encodeFrame({ opcode: Opcode.BINARY, rsv1: true, payload: zeroBomb(4 * 1024) });
      const watch = await watchArrayBuffers();
      // Three in a row: a leak per connection grows with their number, a fixed cache does not.
      for (let i = 0; i < 3; i++) await explode(t, server.port, frame);
      await waitUntil(() => server.wss.clients.size === 0, "the server to drop the attackers");
      const { retained } = await watch.stop();
      assert.ok(retained < frame.length, `arrayBuffers still ${formatBytes(retained)} above the baseline after a full GC (one message is ${formatBytes(frame.length)})`);
    },
  );
});
