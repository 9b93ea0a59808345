// Header floods: thousands of headers, a 1 MiB header line, 100,000-entry
// Sec-WebSocket-Protocol / Sec-WebSocket-Extensions lists. On a server wsx creates they are
// answered with 431 (maxHeaderBytes, maxHeaderCount); on a user's server that lets them
// through, wsx parses them — in work linear in their length, shown by counting the parsers'
// steps for inputs of size n and 2n (never by timing).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { lastParseSteps, parseExtensionHeader } from "../../src/protocol/extensions/header.js";
import { lastTokenListSteps, parseTokenList, validateUpgradeRequest } from "../../src/protocol/handshake.js";
import { WebSocketServer } from "../../src/server/server.js";
import { assertStillServes, countUncaught, openTcp, startEchoServer, UPGRADE_HEAD } from "./harness.js";

/**
 * Writes `request` and resolves with the response's status code, or "reset" when the server
 * dropped the connection before a response head could be read (possible when it answers
 * 431 and closes while we are still writing a large request).
 */
async function statusOf(port: number, request: string, timeoutMs = 10_000): Promise<number | "reset"> {
  const socket = await openTcp(port);
  try {
    return await new Promise<number | "reset">((resolve, reject) => {
      let head = "";
      const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      socket.setEncoding("latin1");
      socket.on("data", (text: string) => {
        head += text;
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      socket.once("close", () => {
        clearTimeout(timer);
        resolve("reset");
      });
      socket.write(request);
    });
  } finally {
    socket.destroy();
  }
}

const manyHeaders = (n: number): string => Array.from({ length: n }, (_, i) => `X-Flood-${i}: v\r\n`).join("");
const protocolList = (n: number): string => Array.from({ length: n }, (_, i) => `p${i}`).join(", ");
const extensionList = (n: number): string => Array.from({ length: n }, (_, i) => `x-ext-${i}; a=1; b="2"`).join(", ");

describe("hardening: header floods on a server wsx creates (node:http limits + maxHeaderCount)", () => {
  test("5,000 headers, a 1 MiB header line, 100,000-entry protocol and extension lists: 431, the server lives", async (t) => {
    const uncaught = countUncaught();
    const server = await startEchoServer(t);
    const floods: Array<[string, string]> = [
      ["5,000 headers", UPGRADE_HEAD + manyHeaders(5000) + "\r\n"],
      ["a 1 MiB header line", UPGRADE_HEAD + `X-Big: ${"a".repeat(1024 * 1024)}\r\n\r\n`],
      ["100,000 subprotocols", UPGRADE_HEAD + `Sec-WebSocket-Protocol: ${protocolList(100_000)}\r\n\r\n`],
      ["100,000 extensions", UPGRADE_HEAD + `Sec-WebSocket-Extensions: ${extensionList(100_000)}\r\n\r\n`],
    ];
    for (const [what, request] of floods) {
      const status = await statusOf(server.port, request);
      // 16 KiB head limit: node:http answers 431 (or has already reset a peer still writing).
      assert.ok(status === 431 || status === "reset", `${what}: ${status}`);
    }
    assert.equal(server.wss.clients.size, 0);
    await assertStillServes(server.port);
    assert.equal(uncaught(), 0);
  });

  test("maxHeaderCount: one header over the limit gets 431; exactly at the limit is accepted", async (t) => {
    const server = await startEchoServer(t, { maxHeaderCount: 20 });
    // UPGRADE_HEAD has 5 headers.
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + manyHeaders(16) + "\r\n"), 431);
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + manyHeaders(15) + "\r\n"), 101);
    await assertStillServes(server.port);
  });

  test("default maxHeaderCount (100), with a head size limit large enough to let 2,000 headers through: 431", async (t) => {
    const server = await startEchoServer(t, { maxHeaderBytes: 1024 * 1024 });
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + manyHeaders(95) + "\r\n"), 101);
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + manyHeaders(96) + "\r\n"), 431);
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + manyHeaders(2000) + "\r\n"), 431);
    await assertStillServes(server.port);
  });

  test("maxHeaderBytes: a head over the limit gets 431, one under it is accepted", async (t) => {
    const server = await startEchoServer(t, { maxHeaderBytes: 4096 });
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + `X-Pad: ${"p".repeat(5000)}\r\n\r\n`), 431);
    assert.equal(await statusOf(server.port, UPGRADE_HEAD + `X-Pad: ${"p".repeat(3000)}\r\n\r\n`), 101);
    await assertStillServes(server.port);
  });
});

describe("hardening: header floods on the user's server (its own limits apply; wsx parses)", () => {
  test("100,000-entry lists through a server with a 4 MiB maxHeaderSize: parsed; a bad last entry is 400", async (t) => {
    const uncaught = countUncaught();
    const http = createServer({ maxHeaderSize: 4 * 1024 * 1024 });
    const wss = new WebSocketServer({
      server: http,
      protocols: ["p99999"],
      perMessageDeflate: true,
      message: (ws, data, isBinary) => void ws.send(data, isBinary),
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      await wss.close();
      await new Promise((resolve) => http.close(resolve));
    });
    const port = (http.address() as AddressInfo).port;
    // The last offered protocol is the one the server speaks: the whole list was read.
    assert.equal(await statusOf(port, UPGRADE_HEAD + `Sec-WebSocket-Protocol: ${protocolList(100_000)}\r\n\r\n`), 101);
    assert.equal(await statusOf(port, UPGRADE_HEAD + `Sec-WebSocket-Protocol: ${protocolList(100_000)}, bad token\r\n\r\n`), 400);
    // 100,000 unknown extensions, then permessage-deflate: negotiated (RFC 7692 §5: first acceptable offer).
    const offer = `${extensionList(100_000)}, permessage-deflate`;
    assert.equal(await statusOf(port, UPGRADE_HEAD + `Sec-WebSocket-Extensions: ${offer}\r\n\r\n`), 101);
    // 100,000 copies of permessage-deflate: the first is accepted, the answer names it once.
    const copies = Array.from({ length: 100_000 }, () => "permessage-deflate").join(", ");
    assert.equal(await statusOf(port, UPGRADE_HEAD + `Sec-WebSocket-Extensions: ${copies}\r\n\r\n`), 101);
    await assertStillServes(port);
    assert.equal(uncaught(), 0);
  });
});

/** Steps for inputs built by `make(n)` and `make(2n)`; the ratio must be that of linear work. */
function assertLinear(label: string, make: (n: number) => string, run: (input: string) => void, steps: () => number): void {
  const n = 50_000;
  const small = make(n);
  const large = make(2 * n);
  run(small);
  const a = steps();
  run(large);
  const b = steps();
  assert.ok(a >= small.length, `${label}: ${a} steps for ${small.length} characters (every character is looked at)`);
  // Linear: twice the input, about twice the work (a quadratic parser would do 4x).
  const ratio = b / a;
  assert.ok(ratio > 1.8 && ratio < 2.2, `${label}: steps ${a} → ${b} (ratio ${ratio.toFixed(3)}) for ${small.length} → ${large.length} characters`);
  // And the constant is small: at most 4 steps per character.
  assert.ok(b <= 4 * large.length + 16, `${label}: ${b} steps for ${large.length} characters`);
}

describe("hardening: header parsers do linear work (counted steps, n vs 2n)", () => {
  const tokenInputs: Array<[string, (n: number) => string]> = [
    ["a list of tokens", (n) => protocolList(n / 5)],
    ["only commas", (n) => ",".repeat(n)],
    ["only whitespace", (n) => " ".repeat(n)],
    ["commas and whitespace", (n) => " ,\t".repeat(n / 3)],
    ["one long token", (n) => "a".repeat(n)],
    ["tokens with long whitespace runs", (n) => "a    ,    ".repeat(n / 10)],
    ["an error at the very end", (n) => "a,".repeat(n / 2) + "@"],
  ];
  for (const [label, make] of tokenInputs) {
    test(`parseTokenList: ${label}`, () => {
      assertLinear(label, make, (s) => void parseTokenList(s), lastTokenListSteps);
    });
  }

  test("validateUpgradeRequest: a 100,000-entry Sec-WebSocket-Protocol list costs one pass", () => {
    const headers = (list: string) => ({
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-protocol": list,
    });
    // The protocol list is the last token list the validator parses.
    assertLinear("Sec-WebSocket-Protocol", (n) => protocolList(n / 6), (s) => void validateUpgradeRequest("GET", "1.1", headers(s)), lastTokenListSteps);
    assert.equal(validateUpgradeRequest("GET", "1.1", headers(protocolList(100_000))).protocols.length, 100_000);
  });

  const extensionInputs: Array<[string, (n: number) => string]> = [
    ["extensions with parameters", (n) => extensionList(n / 22)],
    ["only commas", (n) => ",".repeat(n)],
    ["only whitespace and commas", (n) => " \t,".repeat(n / 3)],
    ["one extension with many parameters", (n) => "e" + "; p=v".repeat(n / 5)],
    ["quoted values with escapes", (n) => "e" + '; p="\\a\\b\\c"'.repeat(n / 14)],
    ["one long token", (n) => "e".repeat(n)],
    ["an unterminated quoted string at the end", (n) => "e; p=v, ".repeat(n / 8) + 'f; q="' + "a".repeat(100)],
    ["an error at the very end", (n) => "e, ".repeat(n / 3) + "@"],
  ];
  for (const [label, make] of extensionInputs) {
    test(`parseExtensionHeader: ${label}`, () => {
      assertLinear(label, make, (s) => void parseExtensionHeader(s), lastParseSteps);
    });
  }
});
