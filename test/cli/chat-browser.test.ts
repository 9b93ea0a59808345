// The chat demo in a real browser: two headless Chromium pages in one room.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { launchChromium } from "../support/chromium.js";
import { missing } from "../support/components.js";
import { spawnChild } from "../support/processes.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

test("two pages join a room, see each other's messages and the member count", { skip: missing("chromium") }, async () => {
  const server = spawnChild(process.execPath, [join(ROOT, "dist/cli/main.js"), "serve", "--port", "0", "--quiet"], { cwd: ROOT });
  const base = `http://${(await server.waitFor(/listening on http:\/\/(127\.0\.0\.1:\d+)\//))[1]}/`;
  const browser = await launchChromium();
  try {
    const [alice, bob] = [await browser.newPage(), await browser.newPage()];
    for (const [page, name] of [[alice, "alice"], [bob, "bob"]] as const) {
      await page.goto(base);
      await page.waitForSelector("#status.online", { timeout: 10_000 });
      await page.fill("#name", name);
      await page.fill("#room", "e2e");
      await page.click("#join button");
      await page.waitForFunction("!document.getElementById('text').disabled", undefined, { timeout: 10_000 });
    }
    await alice.waitForFunction("document.getElementById('members').textContent === '2 members in #e2e'", undefined, { timeout: 10_000 });
    await alice.fill("#text", "hello from alice");
    await alice.press("#text", "Enter");
    await bob.waitForFunction("document.getElementById('log').textContent.includes('hello from alice')", undefined, { timeout: 10_000 });
    const line = await bob.textContent("#log li:last-child");
    assert.match(line ?? "", /alice.*hello from alice/);
    const out = join(ROOT, "test-output");
    mkdirSync(out, { recursive: true });
    await bob.screenshot({ path: join(out, "chat-demo.png") });
    await bob.close();
    await alice.waitForFunction("document.getElementById('members').textContent === '1 member in #e2e'", undefined, { timeout: 10_000 });
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    await server.exited();
  }
});
