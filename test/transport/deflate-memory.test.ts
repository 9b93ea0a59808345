/**
 * Memory per connection with permessage-deflate negotiated (issue 17): 1,000 connections after
 * one compressed message each (echoed compressed), measured in the server's own process after
 * forced full GCs, against the same server without compression. With the default (no context
 * takeover either way, pooled zlib contexts) a connection must hold no zlib state at all.
 *
 * Margin: a zlib context kept per connection costs at least ~39 KiB (an inflate context: a
 * 32 KiB window at the 15 bits a browser uses, plus ~7 KiB of state; a deflate context costs
 * more than 128 KiB: Node's zlib keeps a 64 KiB hash table whatever the memLevel, plus a 64 KiB
 * window). What the codec itself keeps per connection (its objects, the negotiated answer,
 * shared by reference) is under 1 KiB, measured ~2 KiB of RSS with allocator slack. So the bound
 * is 8 KiB of RSS over the uncompressed server: 4x what is measured, a fifth of one context.
 * The takeover run (fewer connections) shows the measure does see kept contexts.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { describe, test, type TestContext } from "node:test";
import { spawnChild, type ChildHandle } from "../helpers/process.js";
import { connectRaw, Opcode, type RawClient } from "../helpers/raw-client.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/deflate-memory-server.js", import.meta.url));
const KiB = 1024;
const CONNS = 1000;
const TAKEOVER_CONNS = 200;
const OFFER = "permessage-deflate; client_max_window_bits";

/** A ~1 KiB JSON chat message (above the default 1024-byte compression threshold). */
const MESSAGE = Buffer.from(JSON.stringify({ type: "message", room: "general", user: { id: 4242, name: "ada" }, text: "see the deploy notes before the review tomorrow ".repeat(20) }));
/** The message compressed on its own (a client without context takeover), tail removed (RFC 7692 §7.2.1). */
const COMPRESSED = (() => {
  const z = deflateRawSync(MESSAGE, { finishFlush: constants.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
})();

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  clients: number;
}

async function memory(child: ChildHandle, tag: string): Promise<Mem> {
  child.child.stdin!.write(`mem ${tag}\n`);
  const m = await child.waitForLine(new RegExp(`^MEM ${tag} (\\d+) (\\d+) (\\d+) (\\d+)$`), 30_000);
  return { rss: Number(m[1]), heapUsed: Number(m[2]), external: Number(m[3]), clients: Number(m[4]) };
}

/** Growth per connection (bytes) of a server in `mode` after `n` connections sent one message each. */
async function perConnection(t: TestContext, mode: string, n: number): Promise<{ rss: number; retained: number }> {
  const child = spawnChild(process.execPath, ["--expose-gc", FIXTURE, mode], { t, stdin: "pipe", name: `deflate memory server (${mode})` });
  const port = Number((await child.waitForLine(/^PORT (\d+)$/, 15_000))[1]);
  const base = await memory(child, "before");
  const clients: RawClient[] = [];
  t.after(() => {
    for (const c of clients) c.destroy();
  });
  const headers: Record<string, string> = mode === "off" ? {} : { "Sec-WebSocket-Extensions": OFFER };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const c = await connectRaw(port, { headers });
      clients.push(c);
      if (mode === "off") c.sendText(MESSAGE.toString());
      else c.sendFrame({ opcode: Opcode.TEXT, payload: COMPRESSED, rsv1: true });
      const echo = await c.nextFrame();
      assert.equal(echo.opcode, Opcode.TEXT);
      // Compressed when negotiated (the message is above the threshold), exact either way.
      assert.equal(echo.rsv1, mode !== "off");
      const text = echo.rsv1 ? inflate(echo.payload) : echo.payload;
      assert.ok(text.equals(MESSAGE));
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  const after = await memory(child, "after");
  assert.equal(after.clients, n);
  return { rss: (after.rss - base.rss) / n, retained: (after.heapUsed + after.external - base.heapUsed - base.external) / n };
}

/** RFC 7692 §7.2.2: append the tail and inflate (the server compresses each message on its own). */
function inflate(payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
}

describe("memory per connection with permessage-deflate", () => {
  test(`${CONNS} connections after one message each: the default keeps no zlib state per connection`, async (t) => {
    const off = await perConnection(t, "off", CONNS);
    const deflate = await perConnection(t, "default", CONNS);
    const extra = deflate.rss - off.rss;
    t.diagnostic(`RSS per connection: ${(off.rss / KiB).toFixed(1)} KiB without compression, ${(deflate.rss / KiB).toFixed(1)} KiB with (+${(extra / KiB).toFixed(1)} KiB); heap+external +${((deflate.retained - off.retained) / KiB).toFixed(2)} KiB`);
    assert.ok(extra <= 8 * KiB, `deflate adds ${(extra / KiB).toFixed(1)} KiB of RSS per connection (bound 8 KiB)`);
    // JS objects and buffers the codec keeps: < 1 KiB; 2 KiB leaves room for heap layout.
    assert.ok(deflate.retained - off.retained <= 2 * KiB, `deflate adds ${((deflate.retained - off.retained) / KiB).toFixed(2)} KiB of heap+external per connection`);
  });

  test(`with context takeover the same measure sees the per-connection contexts (${TAKEOVER_CONNS} connections)`, async (t) => {
    const off = await perConnection(t, "off", TAKEOVER_CONNS);
    const takeover = await perConnection(t, "takeover", TAKEOVER_CONNS);
    const extra = takeover.rss - off.rss;
    t.diagnostic(`RSS per connection with context takeover: +${(extra / KiB).toFixed(1)} KiB over no compression`);
    assert.ok(extra >= 39 * KiB, `context takeover adds only ${(extra / KiB).toFixed(1)} KiB per connection`);
  });
});
