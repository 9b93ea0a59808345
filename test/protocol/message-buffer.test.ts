// The receiver's message buffer (RFC 6455 §5.4 reassembly): sized to the message when it
// arrives in one frame across reads, and handed out without a copy only when nothing else
// can see it (takeMessageBuffer, used by the client for binaryType "arraybuffer").
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Receiver, takeMessageBuffer } from "../../src/protocol/receiver.js";
import { cat, clientFrame, serverFrame, splitAt } from "./feed.js";

/** The messages a receiver delivers for `chunks`, as it delivers them (not copied). */
function receive(chunks: readonly Buffer[], isServer = true): Buffer[] {
  const out: Buffer[] = [];
  const fail = (): never => assert.fail("unexpected event");
  const receiver = new Receiver({ onMessage: (data) => void out.push(data), onPing: fail, onPong: fail, onClose: fail, onProtocolError: fail }, { isServer, maxPayload: 16 << 20 });
  for (const chunk of chunks) receiver.push(Buffer.from(chunk));
  return out;
}

function pattern(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** Cuts `bytes` into pieces of `size` bytes. */
function pieces(bytes: Buffer, size: number): Buffer[] {
  const cuts: number[] = [];
  for (let at = size; at < bytes.length; at += size) cuts.push(at);
  return splitAt(bytes, cuts);
}

describe("RFC 6455 §5.4 message reassembly buffer", () => {
  for (const length of [20_000, 100_000, 1_048_576]) {
    test(`a ${length}-byte single-frame message read in 8 KiB pieces is intact, in a buffer exactly its size, taken once`, () => {
      const payload = pattern(length);
      const [data, ...rest] = receive(pieces(serverFrame({ opcode: 2, payload }), 8192), false);
      assert.equal(rest.length, 0);
      assert.ok(data.equals(payload));
      const ab = takeMessageBuffer(data);
      assert.ok(ab !== null, "the receiver's own buffer is handed out");
      assert.equal(ab.byteLength, length);
      assert.ok(Buffer.from(ab).equals(payload));
      assert.equal(takeMessageBuffer(data), null, "a buffer is taken at most once");
    });
  }

  test("a message that lies whole in one read is a view of that read: never taken", () => {
    const payload = pattern(30_000);
    const [data] = receive([clientFrame({ opcode: 2, payload })]);
    assert.ok(data.equals(payload));
    assert.equal(takeMessageBuffer(data), null);
  });

  test("a fragmented message is reassembled intact; its buffer is taken only if it is exactly the message", () => {
    const a = pattern(40_000);
    const b = pattern(25_000);
    const bytes = cat(clientFrame({ opcode: 2, payload: a, fin: false }), clientFrame({ opcode: 0, payload: b }));
    const [data, ...rest] = receive(pieces(bytes, 8192));
    assert.equal(rest.length, 0);
    assert.ok(data.equals(Buffer.concat([a, b])));
    const ab = takeMessageBuffer(data);
    if (ab !== null) assert.equal(ab.byteLength, a.length + b.length);
  });

  test("small messages (Node's buffer pool) and buffers the receiver never made are never taken", () => {
    const payload = pattern(3000);
    const [data] = receive(pieces(clientFrame({ opcode: 2, payload }), 1000));
    assert.ok(data.equals(payload));
    if (data.buffer.byteLength !== data.length) assert.equal(takeMessageBuffer(data), null);
    assert.equal(takeMessageBuffer(Buffer.alloc(65536)), null);
    assert.equal(takeMessageBuffer(Buffer.from(new ArrayBuffer(100))), null);
  });
});
