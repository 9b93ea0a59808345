#!/usr/bin/env node
// Streaming soak: one message larger than the memory we allow (2 GiB by default) echoed
// through a wsx server that uses the opt-in streaming receive (`messageStream`) and send
// (`ws.sendStream`). The server runs in its own process and samples its RSS every 20 ms;
// the client (this process) sends the message as masked 1 MiB fragments while it reads the
// echo and checks every byte. Exit code 1 if the echo differs or the server's peak RSS
// reaches the limit.
//
//   npm run build && node bench/stream-echo.mjs [--gib 2] [--limit-mib 100] [--fragment-kib 1024]
import { fork } from "node:child_process";
import { randomBytes, randomFillSync } from "node:crypto";
import { connect } from "node:net";
import { parseArgs } from "node:util";

if (process.argv.includes("--server")) await server();
else await main();

// ---- the server (child process) ---------------------------------------------------------

async function server() {
  const { WebSocketServer } = await import("../dist/index.js");
  let peak = process.memoryUsage.rss();
  const sample = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 20);
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    maxPayload: 4 * 1024 ** 3, // bounds the whole streamed message
    idleTimeout: 0,
    async messageStream(ws, message, isBinary) {
      // Echo: each piece goes back out as a fragment as soon as it arrives.
      await ws.sendStream(message, isBinary);
    },
  });
  await wss.ready();
  const baseline = process.memoryUsage.rss();
  process.send({ type: "ready", port: wss.port, baseline });
  process.on("message", async (m) => {
    if (m.type === "report") process.send({ type: "report", peak, rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed });
    if (m.type === "stop") {
      clearInterval(sample);
      await wss.close();
      process.exit(0);
    }
  });
}

// ---- the client (this process) ----------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      gib: { type: "string", default: "2" },
      "limit-mib": { type: "string", default: "100" },
      "fragment-kib": { type: "string", default: "1024" },
    },
  });
  const total = Math.round(Number(values.gib) * 1024 ** 3);
  const limit = Number(values["limit-mib"]) * 1024 ** 2;
  const fragment = Number(values["fragment-kib"]) * 1024;
  const { applyMaskKey, packMaskKey } = await import("../dist/protocol/index.js");

  const child = fork(new URL(import.meta.url).pathname, ["--server"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ask = (type) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type !== type) return;
        child.off("message", on);
        resolve(m);
      };
      child.on("message", on);
      if (type !== "ready") child.send({ type });
    });
  const { port, baseline } = await ask("ready");

  // The byte at offset o of the message: a pattern that changes every 251 bytes and every
  // fragment, so misplaced or repeated pieces are caught.
  const expectedAt = (o) => (Math.floor(o / 251) + Math.floor(o / fragment)) & 0xff;
  const fillExpected = (buf, offset) => {
    for (let i = 0; i < buf.length; ) {
      const o = offset + i;
      const run = Math.min(251 - (o % 251), fragment - (o % fragment), buf.length - i);
      buf.fill(expectedAt(o), i, i + run);
      i += run;
    }
  };

  const socket = connect({ host: "127.0.0.1", port });
  await new Promise((r, j) => socket.once("connect", r).once("error", j));
  socket.setNoDelay(true);
  const key = randomBytes(16).toString("base64");
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);

  // Reading: the 101 head, then frames; payload bytes are checked and dropped.
  let head = Buffer.alloc(0);
  let upgraded = false;
  let pending = Buffer.alloc(0);
  let frameLeft = 0;
  let received = 0;
  let frames = 0;
  let mismatch = null;
  let check = Buffer.alloc(fragment);
  let resolveUpgrade;
  let resolveDone;
  let rejectDone;
  const upgradedP = new Promise((r) => (resolveUpgrade = r));
  const done = new Promise((r, j) => ((resolveDone = r), (rejectDone = j)));
  const onPayload = (bytes) => {
    if (mismatch === null) {
      if (check.length < bytes.length) check = Buffer.alloc(bytes.length);
      const want = check.subarray(0, bytes.length);
      fillExpected(want, received);
      if (!want.equals(bytes)) mismatch = received;
    }
    received += bytes.length;
    if (received === total) resolveDone();
  };
  socket.on("data", (chunk) => {
    if (!upgraded) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!/^HTTP\/1\.1 101/.test(head.toString("latin1"))) return rejectDone(new Error(`handshake failed: ${head.toString("latin1", 0, end)}`));
      upgraded = true;
      resolveUpgrade();
      chunk = head.subarray(end + 4);
    }
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (frameLeft > 0) {
        const take = Math.min(frameLeft, buf.length);
        onPayload(buf.subarray(0, take));
        frameLeft -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < 2) break;
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (opcode >= 0x8) {
        if (buf.length < at + len) break;
        if (opcode === 0x8) rejectDone(new Error(`server closed: ${buf.length >= at + 2 ? buf.readUInt16BE(at) : "no code"}`));
        buf = buf.subarray(at + len);
        continue;
      }
      frames++;
      frameLeft = len;
      buf = buf.subarray(at);
      if (len === 0) continue;
    }
    if (buf.length > 0) pending = Buffer.from(buf);
  });
  socket.on("close", () => rejectDone(new Error(`connection closed after ${received} bytes`)));
  await upgradedP;

  // Writing: masked fragments (RFC 6455 §5.3), each only after the socket drained.
  const started = process.hrtime.bigint();
  const maskBytes = Buffer.alloc(4);
  for (let offset = 0, i = 0; offset < total; offset += fragment, i++) {
    const len = Math.min(fragment, total - offset);
    const fin = offset + len === total;
    const header = Buffer.alloc(14);
    header[0] = (fin ? 0x80 : 0) | (i === 0 ? 0x2 : 0x0);
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
    randomFillSync(maskBytes);
    maskBytes.copy(header, 10);
    const payload = Buffer.allocUnsafe(len);
    fillExpected(payload, offset);
    applyMaskKey(payload, 0, len, packMaskKey(maskBytes), 0);
    socket.write(header);
    if (!socket.write(payload)) await new Promise((r) => socket.once("drain", r));
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const report = await ask("report");
  socket.destroy();
  child.send({ type: "stop" });
  const mib = (n) => (n / 1024 ** 2).toFixed(1);
  const ok = mismatch === null && report.peak < limit;
  console.log(
    JSON.stringify(
      {
        messageBytes: total,
        echoedBytes: received,
        echoFrames: frames,
        intact: mismatch === null,
        firstMismatchAt: mismatch,
        seconds: Number(seconds.toFixed(2)),
        throughputMiBps: Number((total / 1024 ** 2 / seconds).toFixed(1)),
        serverRssBaselineMiB: Number(mib(baseline)),
        serverRssPeakMiB: Number(mib(report.peak)),
        serverRssLimitMiB: Number(mib(limit)),
        verdict: ok ? "PASS" : "FAIL",
      },
      null,
      2,
    ),
  );
  process.exit(ok ? 0 : 1);
}
