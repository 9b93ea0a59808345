// After the handshake: a server that breaks the protocol makes the client fail the
// connection (RFC 6455 §7.1.7: close frame with the right code, then TCP close; WHATWG:
// error, then close 1006). Also: frames that arrive with the 101 answer, and pings.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import type { WebSocketOptions } from "../../src/client/options.js";
import { collectClientFrames, record, serverFrame, startRawServer, switchingProtocols, waitFor, type ClientFrame } from "./helpers.js";

/** Runs a client against a raw server that accepts, then writes `after` bytes. */
async function against(after: (socket: Socket) => void, options: WebSocketOptions = {}): Promise<{ log: string[]; wasClean: boolean; code: number; frames: ClientFrame[] }> {
  let frames: ClientFrame[] = [];
  const server = await startRawServer((key, socket) => {
    frames = collectClientFrames(socket).frames;
    socket.write(switchingProtocols(key));
    after(socket);
  });
  try {
    const ws = new WebSocket(server.url, [], options);
    const r = record(ws);
    const e = await r.closed;
    return { log: r.log, wasClean: e.wasClean, code: e.code, frames };
  } finally {
    await server.close();
  }
}

/** The close code in the client's close frame, or null when it sent none. */
function sentCloseCode(frames: ClientFrame[]): number | null {
  const close = frames.find((f) => f.opcode === 0x8);
  return close === undefined || close.payload.length < 2 ? null : close.payload.readUInt16BE(0);
}

const violations: Array<{ name: string; bytes: () => Buffer; code: number; options?: WebSocketOptions }> = [
  // RFC 6455 §5.1: a client closes the connection if it sees a masked frame.
  { name: "a masked frame", bytes: () => Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x60, 0x60]), code: 1002 },
  // §8.1: text must be valid UTF-8.
  { name: "invalid UTF-8 in a text message", bytes: () => serverFrame(0x1, Buffer.from([0xc3, 0x28])), code: 1007 },
  // §5.2: reserved opcodes and RSV bits without an extension.
  { name: "a reserved opcode", bytes: () => serverFrame(0x3, "x"), code: 1002 },
  { name: "RSV1 without permessage-deflate", bytes: () => Buffer.from([0xc1, 0x01, 0x61]), code: 1002 },
  // §5.4: a continuation with nothing to continue.
  { name: "a continuation frame first", bytes: () => serverFrame(0x0, "x"), code: 1002 },
  // §5.5: control frames are at most 125 bytes and not fragmented.
  { name: "a fragmented ping", bytes: () => Buffer.from([0x09, 0x00]), code: 1002 },
  // §7.4.1: 1005 must not appear in a close frame.
  { name: "a close frame with code 1005", bytes: () => serverFrame(0x8, Buffer.from([0x03, 0xed])), code: 1002 },
  // §10.4: a message over the client's maxPayload.
  { name: "a message over maxPayload", bytes: () => serverFrame(0x2, new Uint8Array(100)), code: 1009, options: { maxPayload: 50 } },
];

describe("protocol violations by the server: error, then close 1006", () => {
  for (const v of violations) {
    test(v.name, async () => {
      const r = await against((socket) => socket.write(v.bytes()), v.options);
      assert.deepEqual(r.log, ["open", "error", "close:1006"]);
      assert.equal(r.wasClean, false);
      await waitFor(() => r.frames.length > 0, 5000, "the client's close frame");
      assert.equal(sentCloseCode(r.frames), v.code, "the client's close frame says why");
      assert.ok(r.frames.every((f) => f.masked), "client frames are masked (RFC 6455 §5.3)");
    });
  }
});

describe("frames around the handshake", () => {
  test("messages sent in the same packet as the 101 answer are delivered after open", async () => {
    const server = await startRawServer((key, socket) => {
      // One write: the 101 answer, two messages and a close; then TCP closes (RFC 6455 §7.1.1).
      socket.end(Buffer.concat([Buffer.from(switchingProtocols(key)), serverFrame(0x1, "first"), serverFrame(0x1, "second"), serverFrame(0x8, Buffer.from([0x0f, 0xa0]))]));
    });
    try {
      const ws = new WebSocket(server.url);
      const r = record(ws);
      const e = await r.closed;
      assert.deepEqual(r.log, ["open", "message:first", "message:second", "close:4000"]);
      assert.equal(e.code, 4000);
    } finally {
      await server.close();
    }
  });

  test("a ping is answered with a pong carrying the same data; the close is echoed", async () => {
    let frames: ClientFrame[] = [];
    const server = await startRawServer((key, socket) => {
      frames = collectClientFrames(socket).frames;
      socket.write(Buffer.concat([Buffer.from(switchingProtocols(key)), serverFrame(0x9, "are you there")]));
      setTimeout(() => socket.write(serverFrame(0x8, Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from("bye ✓")]))), 20);
      setTimeout(() => socket.end(), 60);
    });
    try {
      const ws = new WebSocket(server.url);
      const r = record(ws);
      const e = await r.closed;
      assert.deepEqual([e.code, e.reason, e.wasClean], [4001, "bye ✓", true]);
      assert.deepEqual(r.log, ["open", "close:4001"]);
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.payload.toString("hex")]),
        [
          [0xa, Buffer.from("are you there").toString("hex")],
          [0x8, "0fa1"], // RFC 6455 §5.5.1: the close echoes the status code
        ],
      );
    } finally {
      await server.close();
    }
  });

  test("a server that never answers the close: closeTimeout ends it with 1006, not clean", async () => {
    let frames: ClientFrame[] = [];
    const server = await startRawServer((key, socket) => {
      frames = collectClientFrames(socket).frames;
      socket.write(switchingProtocols(key)); // then reads, and never answers
    });
    try {
      const ws = new WebSocket(server.url, [], { closeTimeout: 100 });
      const r = record(ws);
      ws.addEventListener("open", () => ws.close(4002));
      const e = await r.closed;
      assert.deepEqual([e.code, e.wasClean], [1006, false]);
      assert.deepEqual(r.log, ["open", "close:1006"]); // an abnormal closure, not a failure: no error
      assert.equal(sentCloseCode(frames), 4002);
    } finally {
      await server.close();
    }
  });
});
