// The server's admission limits, each at its boundary: maxConnections and
// maxPendingHandshakes (503), the upgrade hook's time limit (408), the Origin allowlist and the
// cookie-session pattern against cross-site WebSocket hijacking (403), the node:http settings
// of a server wsx creates; and docs/SECURITY.md's table of defaults against the code.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { DEFAULTS, type ResolvedOptions } from "../../src/server/options.js";
import { connectRaw, rawHandshake } from "../helpers/raw-client.js";
import { assertStillServes, startEchoServer, UPGRADE_HEAD, waitUntil } from "./harness.js";

const REQUEST = UPGRADE_HEAD + "\r\n";

describe("hardening: admission limits", () => {
  test("maxConnections: the (n+1)th handshake gets 503; after one closes, a new one is accepted", async (t) => {
    const server = await startEchoServer(t, { maxConnections: 3 });
    const peers = await Promise.all([1, 2, 3].map(() => connectRaw(server.port, { t })));
    await waitUntil(() => server.wss.clients.size === 3, "three connections");
    const refused = await rawHandshake(server.port, REQUEST);
    assert.equal(refused.status, 503);
    assert.equal(server.wss.clients.size, 3);
    peers[0].sendClose(1000);
    await peers[0].expectClose(1000, { reply: false });
    await waitUntil(() => server.wss.clients.size === 2, "one connection to end");
    await assertStillServes(server.port);
  });

  test("maxPendingHandshakes: with 2 upgrade hooks pending, a third handshake gets 503 at once", async (t) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const server = await startEchoServer(t, {
      maxPendingHandshakes: 2,
      async upgrade() {
        calls++;
        await gate;
        return undefined;
      },
    });
    t.after(release);
    const slow = [connectRaw(server.port, { t }), connectRaw(server.port, { t })];
    await waitUntil(() => calls === 2, "two pending hooks");
    const refused = await rawHandshake(server.port, REQUEST);
    assert.equal(refused.status, 503);
    assert.equal(calls, 2, "the refused handshake never reached the hook");
    release();
    const peers = await Promise.all(slow);
    peers.forEach((p) => p.destroy());
    await assertStillServes(server.port);
  });

  test("the upgrade hook must settle within handshakeTimeout: 408, and its late result is ignored", async (t) => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let lateResult = false;
    const server = await startEchoServer(t, {
      handshakeTimeout: 300,
      async upgrade() {
        if (calls++ === 0) {
          await gate; // the first hook is too slow: it settles only after its socket got 408
          lateResult = true;
        }
        return undefined;
      },
    });
    t.after(release);
    const r = await rawHandshake(server.port, REQUEST);
    assert.equal(r.status, 408);
    release();
    await waitUntil(() => lateResult, "the slow hook to settle");
    // The server acts on the hook's result in the promise jobs that follow; one turn of the event loop runs them all.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(server.wss.clients.size, 0);
    assert.equal(server.opens(), 0, "the late result opened no connection");
    await assertStillServes(server.port);
  });
});

describe("hardening: cross-site WebSocket hijacking (RFC 6455 §10.2)", () => {
  test("origins: a foreign or missing Origin gets 403; the allowed one, in any case, gets 101", async (t) => {
    const server = await startEchoServer(t, { origins: ["https://app.example.com"] });
    assert.equal((await rawHandshake(server.port, UPGRADE_HEAD + "Origin: https://evil.example\r\n\r\n")).status, 403);
    assert.equal((await rawHandshake(server.port, REQUEST)).status, 403);
    assert.equal((await rawHandshake(server.port, UPGRADE_HEAD + "Origin: https://app.example.com.evil.example\r\n\r\n")).status, 403);
    const ok = await connectRaw(server.port, { t, headers: { Origin: "HTTPS://APP.EXAMPLE.COM" } });
    ok.destroy();
  });

  test("the upgrade-hook pattern of docs/SECURITY.md: Origin first, then the session cookie", async (t) => {
    const sessions = new Map([["s3cr3t", "ann"]]);
    const server = await startEchoServer(t, {
      upgrade(req, { origin }) {
        if (origin !== "https://app.example.com") throw new HandshakeError(403, "origin not allowed");
        const sid = /(?:^|;\s*)sid=([^;]*)/.exec(req.headers.cookie ?? "")?.[1];
        const user = sid === undefined ? undefined : sessions.get(sid);
        if (user === undefined) throw new HandshakeError(401, "sign in first");
        return { user };
      },
      open(ws) {
        ws.send(`hello ${(ws.data as { user: string }).user}`);
      },
    });
    // A page on another site, with the user's cookie (browsers send it): refused.
    const hijack = await rawHandshake(server.port, UPGRADE_HEAD + "Origin: https://evil.example\r\nCookie: sid=s3cr3t\r\n\r\n");
    assert.equal(hijack.status, 403);
    // The right origin without a session: 401.
    const anonymous = await rawHandshake(server.port, UPGRADE_HEAD + "Origin: https://app.example.com\r\n\r\n");
    assert.equal(anonymous.status, 401);
    // The app itself, signed in.
    const peer = await connectRaw(server.port, { t, headers: { Origin: "https://app.example.com", Cookie: "theme=dark; sid=s3cr3t" } });
    assert.equal((await peer.nextFrame()).payload.toString(), "hello ann");
    peer.destroy();
  });
});

describe("hardening: settings of a server wsx creates", () => {
  test("node:http gets the head size limit, and header/request timeouts equal to handshakeTimeout", async (t) => {
    const server = await startEchoServer(t, { handshakeTimeout: 1234, maxHeaderBytes: 8192 });
    const http = server.wss.httpServer!;
    assert.equal(http.headersTimeout, 1234);
    assert.equal(http.requestTimeout, 1234);
    assert.equal((http as unknown as { maxHeaderSize: number }).maxHeaderSize, 8192);
  });

  test("bad option values are refused at construction", async () => {
    const { WebSocketServer } = await import("../../src/server/server.js");
    for (const key of ["maxPayload", "maxBackpressure", "idleTimeout", "handshakeTimeout", "closeTimeout", "maxHeaderBytes", "maxHeaderCount", "maxConnections", "maxPendingHandshakes"]) {
      assert.throws(() => new WebSocketServer({ noServer: true, [key]: -1 }), RangeError, key);
      assert.throws(() => new WebSocketServer({ noServer: true, [key]: Number.NaN }), RangeError, key);
    }
    assert.throws(() => new WebSocketServer({ noServer: true, backpressurePolicy: "block" as "drop" }), RangeError);
  });
});

describe("hardening: docs/SECURITY.md", () => {
  test("every default in its table is the one in the code, and every option has a row", () => {
    const doc = readFileSync(new URL("../../../docs/SECURITY.md", import.meta.url), "utf8");
    const seen = new Set<string>();
    for (const line of doc.split("\n")) {
      // | limit | `option` | default | unit | why | proven by |
      const cells = line.split("|").map((c) => c.trim());
      const option = /^`(\w+)`$/.exec(cells[2] ?? "")?.[1];
      if (option === undefined || !(option in DEFAULTS)) continue;
      const cell = cells[3];
      const documented = cell.startsWith("unlimited") ? Infinity : cell.startsWith("`\"") ? cell.split("`")[1].slice(1, -1) : cell.startsWith("on") ? true : Number(/^[\d_]+/.exec(cell)?.[0].replaceAll("_", ""));
      assert.equal(documented, DEFAULTS[option as keyof ResolvedOptions], `docs/SECURITY.md says ${option} = ${cell}`);
      seen.add(option);
    }
    for (const key of Object.keys(DEFAULTS)) if (key !== "autoPong") assert.ok(seen.has(key), `docs/SECURITY.md has no row for ${key}`);
  });
});
