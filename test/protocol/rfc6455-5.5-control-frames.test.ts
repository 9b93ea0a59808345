// RFC 6455 §5.5: control frames, close payloads, and the Connection's answers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Connection, ReadyState, type ConnectionHandler } from "../../src/protocol/connection.js";
import { closePayload, rawFrame } from "../support/raw-peer.js";
import { feedEverySplit } from "../support/feed.js";

function connection(options: { autoPong?: boolean } = {}): { conn: Connection; log: string[] } {
  const log: string[] = [];
  const handler: ConnectionHandler = {
    onMessage: (d) => void log.push(`message:${d}`),
    onPing: (d) => void log.push(`ping:${d}`),
    onPong: (d) => void log.push(`pong:${d}`),
    onCloseFrame: (c, r) => void log.push(`close:${c}:${r}`),
    onProtocolError: (e) => void log.push(`error:${e.closeCode}`),
    onOutput: () => void log.push("output"),
  };
  return { conn: new Connection(handler, { isServer: true, maxPayload: 1 << 20, autoPong: options.autoPong }), log };
}

/** Parses server output (unmasked) into [opcode, payload] pairs. */
function frames(out: Buffer | Buffer[] | null): Array<[number, Buffer]> {
  const buf = out === null ? Buffer.alloc(0) : Buffer.isBuffer(out) ? out : Buffer.concat(out);
  const res: Array<[number, Buffer]> = [];
  let p = 0;
  while (p < buf.length) {
    let len = buf[p + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      len = buf.readUInt16BE(p + 2);
      h = 4;
    }
    res.push([buf[p] & 0x0f, buf.subarray(p + h, p + h + len)]);
    p += h + len;
  }
  return res;
}

describe("RFC 6455 §5.5 control frames", () => {
  test("control frames over 125 bytes are 1002", () => {
    for (const op of [8, 9, 10]) {
      const ev = feedEverySplit(rawFrame({ opcode: op, payload: Buffer.alloc(126) }));
      assert.equal(ev[0].type === "error" && ev[0].code, 1002, `opcode ${op}`);
    }
  });

  test("close payloads: empty → 1005, 1 byte → 1002, code + UTF-8 reason, invalid reason → 1007", () => {
    const empty = feedEverySplit(rawFrame({ opcode: 8 }));
    assert.deepEqual(empty[0], { type: "close", code: 1005, reason: "" });
    const one = feedEverySplit(rawFrame({ opcode: 8, payload: Buffer.from([3]) }));
    assert.equal(one[0].type === "error" && one[0].code, 1002);
    const ok = feedEverySplit(rawFrame({ opcode: 8, payload: closePayload(4000, "ünïcode") }));
    assert.deepEqual(ok[0], { type: "close", code: 4000, reason: "ünïcode" });
    const bad = feedEverySplit(rawFrame({ opcode: 8, payload: closePayload(1000, Buffer.from([0xff])) }));
    assert.equal(bad[0].type === "error" && bad[0].code, 1007);
  });

  test("a ping is answered with a pong of the same payload; autoPong: false switches it off", () => {
    const { conn, log } = connection();
    conn.receive(rawFrame({ opcode: 9, payload: "hello" }));
    assert.deepEqual(frames(conn.takeOutput()), [[0xa, Buffer.from("hello")]]);
    assert.ok(log.includes("ping:hello"));
    const off = connection({ autoPong: false });
    off.conn.receive(rawFrame({ opcode: 9, payload: "hello" }));
    assert.equal(off.conn.takeOutput(), null);
  });

  test("the peer's close is echoed with its code, the state becomes CLOSED, and sends are refused", () => {
    const { conn, log } = connection();
    conn.receive(rawFrame({ opcode: 8, payload: closePayload(4001, "bye") }));
    const out = frames(conn.takeOutput());
    assert.equal(out[0][0], 8);
    assert.equal(out[0][1].readUInt16BE(0), 4001);
    assert.equal(conn.readyState, ReadyState.CLOSED);
    assert.ok(log.includes("close:4001:bye"));
    assert.equal(conn.send("late", false), false);
    assert.equal(conn.takeOutput(), null, "RFC 6455 §5.5.1: no data after a close frame");
  });

  test("our close, then the peer's: one close frame each way, no second close", () => {
    const { conn } = connection();
    assert.equal(conn.close(1000, "done"), true);
    assert.equal(conn.readyState, ReadyState.CLOSING);
    assert.equal(conn.close(1000), false);
    const out = frames(conn.takeOutput());
    assert.equal(out.length, 1);
    conn.receive(rawFrame({ opcode: 8, payload: closePayload(1000) }));
    assert.equal(conn.takeOutput(), null);
    assert.equal(conn.readyState, ReadyState.CLOSED);
  });

  test("a protocol error queues a close frame with its code", () => {
    const { conn, log } = connection();
    conn.receive(rawFrame({ opcode: 3 }));
    const out = frames(conn.takeOutput());
    assert.equal(out[0][1].readUInt16BE(0), 1002);
    assert.ok(log.includes("error:1002"));
  });

  test("sends before a read are batched into one buffer, copied at send time", () => {
    const { conn } = connection();
    const buf = Buffer.from("abc");
    conn.send(buf, true);
    buf.fill(0); // the caller reuses its buffer at once
    conn.send("text", false);
    const out = conn.takeOutput();
    assert.ok(Buffer.isBuffer(out), "one contiguous buffer");
    assert.deepEqual(frames(out).map(([op, p]) => [op, p.toString()]), [[2, "abc"], [1, "text"]]);
  });
});
