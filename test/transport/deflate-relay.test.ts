/**
 * Relaying a received compressed message (transport/zlib-relay.ts): a message sent unchanged
 * right after it was inflated goes out with the peer's own payload when RFC 7692 allows it
 * (both directions without context takeover, recipient window 15, payload ending at a block
 * boundary, smaller than the message), and is compressed afresh otherwise: a changed buffer,
 * another message inflated in between, a small window, context takeover, a crafted payload
 * that would leave the recipient's inflater mid-block, a wasteful encoding.
 * Deterministic: fixed data, no timing assertions.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, test } from "node:test";
import zlib from "node:zlib";
import fc from "fast-check";
import type { DeflateParams, PerMessageDeflateOptions } from "../../src/protocol/extensions/permessage-deflate.js";
import { compressShared, PerMessageDeflate } from "../../src/transport/permessage-deflate.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { connectRaw, encodeFrame, Opcode } from "../helpers/raw-client.js";

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const RUNS = Number(process.env.WSX_FUZZ_RUNS ?? 100);
const NO_TAKEOVER: DeflateParams = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** A JSON chat message of about `size` bytes; `seed` varies it. */
function message(size: number, seed = 1): Buffer {
  let s = `{"type":"message","seed":${seed},"text":"`;
  for (let i = 0; s.length < size - 2; i++) s += ["deploy", "the", "server", "tomorrow", "room", "thanks"][(i * 7 + seed) % 6] + " ";
  return Buffer.from(s.slice(0, size - 2) + '"}');
}

/** What a client without context takeover sends: one sync-flushed message, tail stripped (RFC 7692 §7.2.1), level 9 so it differs from wsx's own output. */
function clientPayload(data: Buffer): Buffer {
  const z = zlib.deflateRawSync(data, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(z.subarray(-4), TAIL);
  return z.subarray(0, z.length - 4);
}

/** What a peer inflates from `payload` (RFC 7692 §7.2.2). */
function inflate(payload: Buffer, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

function server(p: DeflateParams = NO_TAKEOVER, options: PerMessageDeflateOptions = {}): PerMessageDeflate {
  return new PerMessageDeflate(p, true, options, 1 << 20);
}

/** Inflates `payload` on the event loop, as the transport does for a small message. */
function receive(codec: PerMessageDeflate, payload: Buffer): Buffer {
  const out = codec.decompressNow(payload, () => assert.fail("a small message is inflated on the event loop"));
  assert.ok(out !== null);
  return out;
}

/** Compresses on the event loop and copies the result (it may be a view of a scratch buffer). */
function sendNow(codec: PerMessageDeflate, data: Buffer): Buffer {
  const out = codec.compressNow(data);
  assert.ok(out !== null);
  return Buffer.from(out);
}

describe("relaying a received compressed message (RFC 7692 §7.2, no context takeover)", () => {
  it("an echo sends the peer's payload as it came, and it inflates to the message", () => {
    const codec = server();
    const data = message(1100);
    const payload = clientPayload(data);
    const received = receive(codec, payload);
    assert.deepEqual(received, data);
    const sent = sendNow(codec, received);
    assert.deepEqual(sent, payload);
    assert.deepEqual(inflate(sent), data);
    codec.close();
  });

  it("relay: false compresses again (other bytes, same message)", () => {
    const codec = server(NO_TAKEOVER, { relay: false });
    const data = message(1100);
    const payload = clientPayload(data);
    const sent = sendNow(codec, receive(codec, payload));
    assert.notDeepEqual(sent, payload);
    assert.deepEqual(inflate(sent), data);
    codec.close();
  });

  it("a message changed by the handler is compressed afresh", () => {
    const codec = server();
    const data = message(1100);
    const payload = clientPayload(data);
    const received = receive(codec, payload);
    received[10] ^= 0x01;
    const sent = sendNow(codec, received);
    assert.notDeepEqual(sent, payload);
    assert.deepEqual(inflate(sent), received);
    codec.close();
  });

  it("every recipient with a 15-bit window gets the payload; other windows and context takeover compress", () => {
    const source = server();
    const same = server();
    const small = server({ ...NO_TAKEOVER, serverMaxWindowBits: 10 });
    // Level 1 (not takeover's default 6): its own output then differs from the level-9 payload.
    const takeover = server({ ...NO_TAKEOVER, serverNoContextTakeover: false }, { level: 1 });
    const data = message(2000);
    const payload = clientPayload(data);
    const received = receive(source, payload);
    // The first recipient checks the payload; the later ones compare with the checked message.
    assert.deepEqual(sendNow(same, received), payload);
    assert.deepEqual(sendNow(source, Buffer.from(received)), payload);
    const viaSmall = sendNow(small, received);
    assert.notDeepEqual(viaSmall, payload);
    assert.deepEqual(inflate(viaSmall, 10), data);
    const viaTakeover = sendNow(takeover, received);
    assert.notDeepEqual(viaTakeover, payload);
    assert.deepEqual(inflate(viaTakeover), data);
    // After those compressions the checked message is still known: relayed again.
    assert.deepEqual(sendNow(same, received), payload);
    for (const c of [source, same, small, takeover]) c.close();
  });

  it("publish (compressShared) relays at window 15 only", () => {
    const codec = server();
    const data = message(1500, 3);
    const payload = clientPayload(data);
    const received = receive(codec, payload);
    assert.deepEqual(Buffer.from(compressShared(received, 15, {})), payload);
    const at10 = Buffer.from(compressShared(received, 10, {}));
    assert.notDeepEqual(at10, payload);
    assert.deepEqual(inflate(at10, 10), data);
    assert.notDeepEqual(Buffer.from(compressShared(received, 15, { relay: false })), payload);
    codec.close();
  });

  it("another message inflated in between ends the relay of the first", () => {
    const a = server();
    const b = server();
    const first = message(1100, 1);
    const second = message(1100, 2);
    const receivedFirst = receive(a, clientPayload(first));
    receive(b, clientPayload(second));
    const sent = sendNow(a, receivedFirst);
    assert.notDeepEqual(sent, clientPayload(first));
    assert.deepEqual(inflate(sent), first);
    a.close();
    b.close();
  });

  it("a source with context takeover is never relayed (its messages may refer to earlier ones)", () => {
    const source = server({ ...NO_TAKEOVER, clientNoContextTakeover: false });
    const recipient = server();
    const data = message(1100);
    const payload = clientPayload(data);
    const sent = sendNow(recipient, receive(source, payload));
    assert.notDeepEqual(sent, payload);
    assert.deepEqual(inflate(sent), data);
    source.close();
    recipient.close();
  });

  it("a payload that leaves the inflater mid-block is delivered but not relayed", () => {
    const codec = server();
    const data = message(1100);
    // A sync-flushed message, its empty stored block kept, then the start of a block that the
    // tail does not finish (found by trying 2-byte suffixes): inflated with the tail appended it
    // gives the message unchanged, but a recipient's inflater would stay inside that block and
    // read the next message as its continuation.
    const crafted = Buffer.concat([clientPayload(data), TAIL, Buffer.from([0x04, 0x00])]);
    const received = receive(codec, crafted);
    assert.deepEqual(received, data);
    const sent = sendNow(codec, received);
    assert.notDeepEqual(sent, crafted);
    assert.deepEqual(inflate(sent), data);
    codec.close();
  });

  it("a payload inflated by a codec that does not check (relay: false) is checked when first relayed", () => {
    const source = server(NO_TAKEOVER, { relay: false });
    const recipient = server();
    const data = message(1100);
    const payload = clientPayload(data);
    assert.deepEqual(sendNow(recipient, receive(source, payload)), payload);
    const crafted = Buffer.concat([payload, TAIL, Buffer.from([0x04, 0x00])]);
    const received = receive(source, crafted);
    assert.deepEqual(received, data);
    const sent = sendNow(recipient, received);
    assert.notDeepEqual(sent, crafted);
    assert.deepEqual(inflate(sent), data);
    source.close();
    recipient.close();
  });

  it("a payload whose last stored block would swallow the check's bytes is not relayed", () => {
    const codec = server();
    // Starting with the check's own bytes (03 00): the output the check writes then leaves the
    // scratch buffer's first bytes unchanged, so only the check's no-output rule refuses it.
    const data = Buffer.concat([Buffer.from([0x03, 0x00]), message(1100)]);
    // The message, then a final stored block announcing 6 bytes of which the payload carries
    // none: with the tail appended, zlib emits the tail's 4 bytes as content and waits for 2
    // more; the check's empty final block (03 00) would complete it and end the stream right
    // before the check's last byte, but with output. Delivered as zlib inflates it (message +
    // 00 00 ff ff); never relayed.
    const stored = Buffer.from([0x01, 0x06, 0x00, 0xf9, 0xff]);
    const crafted = Buffer.concat([clientPayload(data), TAIL, stored]);
    const received = receive(codec, crafted);
    assert.deepEqual(received, Buffer.concat([data, TAIL]));
    const sent = sendNow(codec, received);
    assert.notDeepEqual(sent, crafted);
    assert.deepEqual(inflate(sent), received);
    codec.close();
  });

  it("a payload larger than its message (stored blocks) is not relayed", () => {
    const codec = server();
    const data = message(1100);
    const stored = zlib.deflateRawSync(data, { level: 0, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const payload = stored.subarray(0, stored.length - 4);
    assert.ok(payload.length > data.length);
    const sent = sendNow(codec, receive(codec, payload));
    assert.ok(sent.length < data.length);
    assert.deepEqual(inflate(sent), data);
    codec.close();
  });

  it("a payload with a final block (RFC 7692 §7.2.3.4) is delivered but not relayed", () => {
    const codec = server();
    const data = message(1100);
    const payload = zlib.deflateRawSync(data, { level: 9 }); // Z_FINISH: ends with BFINAL
    const received = receive(codec, payload);
    assert.deepEqual(received, data);
    const sent = sendNow(codec, received);
    assert.notDeepEqual(sent, payload);
    assert.deepEqual(inflate(sent), data);
    codec.close();
  });
});

test("over a socket: an echo relays the client's payload, a message that does not shrink goes uncompressed (RFC 7692 §6.1), others are compressed", async (t) => {
  const server = await startEchoServer({ t, perMessageDeflate: true });
  const client = await connectRaw(server.port, { t, headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
  const text = message(1200, 5);
  const payload = clientPayload(text);
  const noise = randomBytes(2048);
  const plain = message(1500, 6);
  client.write(
    Buffer.concat([
      encodeFrame({ opcode: Opcode.TEXT, rsv1: true, payload }),
      encodeFrame({ opcode: Opcode.BINARY, payload: noise }),
      encodeFrame({ opcode: Opcode.TEXT, payload: plain }),
    ]),
  );
  const relayedFrame = await client.nextFrame();
  assert.equal(relayedFrame.rsv1, true);
  assert.deepEqual(relayedFrame.payload, payload);
  // Random bytes do not shrink: sent as they are, RSV1 clear.
  const noiseFrame = await client.nextFrame();
  assert.equal(noiseFrame.rsv1, false);
  assert.deepEqual(noiseFrame.payload, noise);
  const plainFrame = await client.nextFrame();
  assert.equal(plainFrame.rsv1, true);
  assert.ok(plainFrame.payload.length < plain.length);
  assert.deepEqual(inflate(plainFrame.payload), plain);
});

test("property: whatever a peer sends, a relayed payload inflates to the message and leaves a recipient's inflater ready for the next message", () => {
  const words = ["deploy", "the", "server", "room", "thanks", "{", "}", '"', ":", ",", "0", "42"];
  const messageArb = fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 400 }).map((w) => Buffer.from(w.join(" ")));
  // How the peer builds its payload: a sync-flushed message (any level, strategy) with the
  // tail stripped or kept, then a few arbitrary bytes (mostly garbage, sometimes a block start).
  const variantArb = fc.record({
    level: fc.integer({ min: 0, max: 9 }),
    strategy: fc.constantFrom(zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_FIXED, zlib.constants.Z_HUFFMAN_ONLY),
    final: fc.boolean(),
    keepTail: fc.boolean(),
    suffix: fc.uint8Array({ maxLength: 3 }),
  });
  const codec = server();
  const next = message(1100, 9);
  const nextPayload = clientPayload(next);
  try {
    fc.assert(
      fc.property(messageArb, variantArb, (data, v) => {
        const z = zlib.deflateRawSync(data, { level: v.level, strategy: v.strategy, finishFlush: v.final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH });
        const base = v.final || v.keepTail ? z : z.subarray(0, z.length - 4);
        const payload = Buffer.concat([base, Buffer.from(v.suffix)]);
        let received: Buffer;
        try {
          received = receive(codec, payload);
        } catch {
          return; // refused (1007): nothing to relay
        }
        const sent = sendNow(codec, received);
        // Whatever went out inflates to what the handler sent...
        assert.deepEqual(inflate(sent), received);
        // ...and a relayed payload (or our own output, when it happens to be the same bytes)
        // leaves a recipient that keeps its inflater (RFC 7692 allows it without context
        // takeover) at a block boundary: the next message decodes exactly.
        if (!sent.equals(payload)) return;
        const both = zlib.inflateRawSync(Buffer.concat([sent, TAIL, nextPayload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        assert.deepEqual(both, Buffer.concat([received, next]));
      }),
      { numRuns: RUNS * 5 },
    );
  } finally {
    codec.close();
  }
});
