// The receiver's message buffer (RFC 6455 §5.4 reassembly): sized to the message when it
// arrives in one frame across reads, and handed out without a copy only when nothing else
// can see it (takeMessageBuffer, used by the client for binaryType "arraybuffer").
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Receiver, takeMessageBuffer } from "../../src/protocol/receiver.js";
import { formatBytes, memoryAfterGc, MiB } from "../helpers/memory.js";
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

  // The first quarter of a one-frame message is held as views of the reads (at most 32 of
  // them; a piece under half of its read is held as a copy), then copied once into the exact
  // buffer.
  for (const [label, size] of [
    ["64 KiB reads (held, then copied once)", 65536],
    ["1 KiB reads (more than 32 before a quarter: falls back to doubling)", 1024],
    ["reads of 65,537 bytes (pieces straddle the buffer sizes)", 65537],
    ["reads of 3 bytes", 3],
  ] as const) {
    test(`a 1 MiB single-frame message in ${label} is intact, in a buffer exactly its size`, () => {
      const payload = pattern(1_048_576 + 3);
      const [data, ...rest] = receive(pieces(serverFrame({ opcode: 2, payload }), size), false);
      assert.equal(rest.length, 0);
      assert.ok(data.equals(payload));
      assert.equal(takeMessageBuffer(data)?.byteLength, payload.length);
    });
  }

  test("a masked single-frame message held in pieces is unmasked with every key phase (server role)", () => {
    const payload = pattern(300_001);
    for (const size of [65536, 4093, 10_007]) {
      const [data] = receive(pieces(clientFrame({ opcode: 2, payload }), size));
      assert.ok(data.equals(payload), `pieces of ${size}`);
    }
  });

  test("the pieces after a message that ended in the same read, and before the next one, are each delivered intact", () => {
    const a = pattern(200_000);
    const b = pattern(150_000).reverse();
    const c = Buffer.from("tail");
    const bytes = cat(serverFrame({ opcode: 2, payload: a }), serverFrame({ opcode: 2, payload: b }), serverFrame({ opcode: 1, payload: c }));
    for (const size of [65536, 50_000, 7]) {
      const out = receive(pieces(bytes, size), false);
      assert.equal(out.length, 3, `pieces of ${size}`);
      assert.ok(out[0].equals(a) && out[1].equals(b) && out[2].equals(c), `pieces of ${size}`);
    }
  });

  test("(property) one-frame messages cut at random points, masked or not, some reads views of larger buffers: intact", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
        (length, sizes, masked, inBigBuffer) => {
          const payload = pattern(length);
          const bytes = masked ? clientFrame({ opcode: 2, payload }) : serverFrame({ opcode: 2, payload });
          const chunks: Buffer[] = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const n = Math.min(sizes[i % sizes.length], bytes.length - at);
            // Some reads are views into the middle of a buffer three times their size.
            const chunk = inBigBuffer[i % inBigBuffer.length] ? Buffer.alloc(3 * n).subarray(n, 2 * n) : Buffer.alloc(n);
            bytes.copy(chunk, 0, at, at + n);
            chunks.push(chunk);
            at += n;
          }
          const out: Buffer[] = [];
          const fail = (): never => assert.fail("unexpected event");
          const receiver = new Receiver({ onMessage: (data) => void out.push(Buffer.from(data)), onPing: fail, onPong: fail, onClose: fail, onProtocolError: fail }, { isServer: masked, maxPayload: 1 << 20 });
          for (const chunk of chunks) receiver.push(chunk);
          assert.equal(out.length, 1);
          assert.ok(out[0].equals(payload));
          assert.ok(receiver.idle);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("reads that are small views of large ArrayBuffers are held as copies, not views (the memory kept is bounded)", async () => {
    // A Duplex may hand out views of big buffers: holding 8 of them would pin 32 MiB for
    // 512 KiB of a 32 MiB message; copies keep what is held near what arrived.
    const length = 32 * MiB;
    const frame = serverFrame({ opcode: 2, payload: Buffer.alloc(0) });
    const header = Buffer.from(frame.subarray(0, 2));
    header[1] = 127; // 64-bit length (RFC 6455 §5.2)
    const lengthBytes = Buffer.alloc(8);
    lengthBytes.writeUInt32BE(length, 4);
    let messages = 0;
    const fail = (): never => assert.fail("unexpected event");
    const receiver = new Receiver({ onMessage: () => void messages++, onPing: fail, onPong: fail, onClose: fail, onProtocolError: fail }, { isServer: false, maxPayload: 64 * MiB });
    const before = await memoryAfterGc();
    receiver.push(Buffer.concat([header, lengthBytes]));
    // 64 KiB views of 4 MiB buffers (made in a function, so this frame keeps none alive).
    const viewOfBig = (fill: number): Buffer => Buffer.alloc(4 * MiB, fill).subarray(MiB, MiB + 65536);
    for (let i = 0; i < 8; i++) receiver.push(viewOfBig(i + 1));
    const grown = (await memoryAfterGc()).arrayBuffers - before.arrayBuffers;
    assert.equal(messages, 0);
    assert.ok(!receiver.idle, "a message is in progress");
    // 512 KiB arrived: about that much is held, not 8 x 4 MiB.
    assert.ok(grown < 4 * MiB, `retained ${formatBytes(grown)}`);
  });

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
