/**
 * `require("wsx")` from a CommonJS file: every entry point loads, and the server and client
 * make one real round trip (test/package/fixtures/require-all.cjs, run as a child process).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnChild } from "../helpers/process.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

test("a .cjs file requires every entry point and echoes a message through WebSocketServer and WebSocket", async (t) => {
  const child = spawnChild(process.execPath, [join(ROOT, "test/package/fixtures/require-all.cjs")], { t, cwd: ROOT, name: "require-all.cjs" });
  const { code } = await child.exited(30_000);
  assert.equal(code, 0, child.stderr());
  const out = JSON.parse(child.stdout()) as { reply: string; version: string; globalWebSocket: string; exports: Record<string, string[]>; cjs: boolean };
  assert.equal(out.reply, "ping from CommonJS");
  assert.equal(out.cjs, true, "require() must resolve to dist/cjs, not to the ESM build");
  assert.equal(out.globalWebSocket, "function");
  assert.ok(out.exports["."].includes("WebSocketServer"));
  assert.ok(out.exports["./redis"].includes("RedisAdapter"));
  assert.ok(out.exports["./protocol"].includes("Receiver"));
});
