// The receiver's streamMessages mode (sans-I/O): pieces of a data message are handed on as
// they arrive, unmasked, with RFC 6455 §5.4 fragmentation, §8.1 UTF-8 and the maxPayload
// limit (§10.4) applied across the whole message, at any chunk boundary.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProtocolError } from "../../src/protocol/errors.js";
import { Receiver, type ReceiverHandler } from "../../src/protocol/receiver.js";
import { encodeFrame } from "../helpers/raw-client.js";

type Piece = { data: Buffer; isBinary: boolean; first: boolean; fin: boolean };

function run(bytes: Buffer, chunkSize: number, maxPayload = 1 << 24): { pieces: Piece[]; messages: Buffer[]; pings: number; error: ProtocolError | null; held: number } {
  const pieces: Piece[] = [];
  const messages: Buffer[] = [];
  let pings = 0;
  let error: ProtocolError | null = null;
  const handler: ReceiverHandler = {
    onMessage: (data) => void messages.push(Buffer.from(data)),
    onMessageChunk: (data, isBinary, first, fin) => void pieces.push({ data: Buffer.from(data), isBinary, first, fin }),
    onPing: () => void pings++,
    onPong: () => {},
    onClose: () => {},
    onProtocolError: (e) => void (error = e),
  };
  const r = new Receiver(handler, { isServer: true, maxPayload, streamMessages: true });
  let held = 0;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    r.push(Buffer.from(bytes.subarray(at, at + chunkSize)));
    // What the receiver keeps between chunks: never a message's worth.
    held = Math.max(held, (r as unknown as { message: Buffer | null }).message?.length ?? 0);
  }
  return { pieces, messages, pings, error, held };
}

const frame = (opcode: number, payload: Uint8Array | string, fin = true, extra: object = {}): Buffer => encodeFrame({ opcode, payload, fin, mask: true, ...extra });

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe("streamMessages", { timeout: 120_000 }, () => {
  for (const chunkSize of [1, 7, 1000, 1 << 20]) {
    test(`a fragmented binary message with a ping between fragments, ${chunkSize}-byte chunks`, () => {
      const parts = [pattern(3000, 1), pattern(0, 2), pattern(5000, 3)];
      const bytes = Buffer.concat([frame(0x2, parts[0], false), frame(0x9, "p"), frame(0x0, parts[1], false), frame(0x0, parts[2], true)]);
      const r = run(bytes, chunkSize);
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 0, "nothing is collected");
      assert.equal(r.pings, 1);
      assert.ok(Buffer.concat(r.pieces.map((p) => p.data)).equals(Buffer.concat(parts)));
      assert.deepEqual(r.pieces.filter((p) => p.first).length, 1);
      assert.equal(r.pieces[0].first, true);
      assert.equal(r.pieces.at(-1)!.fin, true);
      assert.ok(r.pieces.slice(0, -1).every((p) => !p.fin));
      assert.ok(r.pieces.every((p) => p.isBinary));
      assert.equal(r.held, 0, "no payload is kept between chunks");
      if (chunkSize < 3000) assert.ok(r.pieces.length > 2, "a frame split across chunks comes out in pieces");
    });
  }

  test("two messages in a row, and an empty message, each start and end once", () => {
    const bytes = Buffer.concat([frame(0x1, "héllo"), frame(0x2, new Uint8Array(0)), frame(0x1, "wörld", false), frame(0x0, "!", true)]);
    const r = run(bytes, 3);
    assert.equal(r.error, null);
    assert.equal(r.pieces.filter((p) => p.first).length, 3);
    assert.equal(r.pieces.filter((p) => p.fin).length, 3);
    const texts: string[] = [];
    let current: Buffer[] = [];
    for (const p of r.pieces) {
      current.push(p.data);
      if (p.fin) {
        texts.push(Buffer.concat(current).toString());
        current = [];
      }
    }
    assert.deepEqual(texts, ["héllo", "", "wörld!"]);
  });

  test("maxPayload bounds the whole message, not each frame: 1009 before the limit is passed", () => {
    const bytes = Buffer.concat([frame(0x2, pattern(600, 1), false), frame(0x0, pattern(600, 2), false)]);
    const r = run(bytes, 100, 1000);
    assert.equal(r.error?.closeCode, 1009);
    const delivered = r.pieces.reduce((n, p) => n + p.data.length, 0);
    assert.ok(delivered <= 1000, `${delivered} bytes delivered`);
  });

  test("UTF-8 is checked across pieces: a sequence split between fragments is fine, a bad byte is 1007", () => {
    const euro = Buffer.from("€"); // e2 82 ac
    const good = Buffer.concat([frame(0x1, euro.subarray(0, 1), false), frame(0x0, euro.subarray(1), true)]);
    assert.equal(run(good, 1).error, null);
    const bad = Buffer.concat([frame(0x1, "ok", false), frame(0x0, Buffer.from([0xc3, 0x28]), true)]);
    assert.equal(run(bad, 1).error?.closeCode, 1007);
    const truncated = Buffer.concat([frame(0x1, "ok", false), frame(0x0, euro.subarray(0, 2), true)]);
    const t = run(truncated, 1000);
    assert.equal(t.error?.closeCode, 1007);
    assert.ok(!t.pieces.some((p) => p.fin), "a truncated message never ends successfully");
  });

  test("the framing rules still hold: a new data frame inside a fragmented message is 1002", () => {
    const bytes = Buffer.concat([frame(0x2, "a", false), frame(0x2, "b", true)]);
    assert.equal(run(bytes, 1000).error?.closeCode, 1002);
  });

  test("compressed messages (RSV1) are still delivered whole", () => {
    const pieces: Piece[] = [];
    const messages: Array<{ compressed: boolean }> = [];
    const r = new Receiver(
      {
        onMessage: (_d, _b, compressed) => void messages.push({ compressed }),
        onMessageChunk: (data, isBinary, first, fin) => void pieces.push({ data, isBinary, first, fin }),
        onPing() {},
        onPong() {},
        onClose() {},
        onProtocolError: (e) => assert.fail(e.message),
      },
      { isServer: true, maxPayload: 1 << 20, allowRsv1: true, streamMessages: true },
    );
    r.push(Buffer.concat([frame(0x2, "xx", false, { rsv1: true }), frame(0x0, "yy", true)]));
    assert.deepEqual(messages, [{ compressed: true }]);
    assert.equal(pieces.length, 0);
  });
});
