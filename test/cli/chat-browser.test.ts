// The chat demo of `wsx serve` in a real browser: two headless Chromium pages in one room,
// the browser's own WebSocket, a screenshot, and reconnection after a server restart.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { componentOrSkip } from "../helpers/components.js";
import { ROOT, serve } from "./wsx.js";

const text = async (page: Page, selector: string): Promise<string> => (await page.textContent(selector)) ?? "";

/** The page's `document`, typed just enough (this project compiles without the DOM types). */
type PageDocument = { getElementById(id: string): { textContent: string | null } | null };

/** Waits until the element's text equals `expected` (or includes it, with `partial`). */
async function waitText(page: Page, id: string, expected: string, partial = false): Promise<void> {
  // A function, not a string: the page's CSP forbids eval (script-src 'self').
  await page.waitForFunction(
    ([id, expected, partial]) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      const text = doc.getElementById(id)?.textContent ?? "";
      return partial ? text.includes(expected) : text === expected;
    },
    [id, expected, partial] as const,
    { timeout: 10_000 },
  );
}

/** The member list's names, in order. */
const memberNames = (page: Page): Promise<string[]> => page.locator("#member-list li").allTextContents();

test("two pages join a room, see each other's messages and the member list; offline and back are logged; they reconnect after a restart", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  const first = await serve(t, ["--quiet"]);
  const base = `http://${first.host}/`;
  const browser = await launchChromium({ t });
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const [alice, bob] = [await context.newPage(), await context.newPage()];
  for (const [page, name] of [[alice, "alice"], [bob, "bob"]] as const) {
    await page.goto(base);
    await page.waitForSelector("#status.online", { timeout: 10_000 });
    await page.fill("#name", name);
    await page.fill("#room", "e2e");
    await page.click("#join button");
    await page.waitForSelector("#text:not([disabled])", { timeout: 10_000 });
  }
  await waitText(alice, "members", "2 members in #e2e");
  assert.equal(await text(bob, "#members"), "2 members in #e2e");
  assert.deepEqual(await memberNames(alice), ["alice", "bob"]);
  assert.deepEqual(await memberNames(bob), ["alice", "bob"]);
  assert.equal(await alice.locator("#member-list li.me").textContent(), "alice");
  assert.match(await text(alice, "#log"), /bob joined/);

  await alice.fill("#text", "hello from alice");
  await alice.press("#text", "Enter");
  await waitText(bob, "log", "hello from alice", true);
  assert.match(await text(bob, "#log li:last-child"), /alice\s*hello from alice/);
  await bob.fill("#text", "hi alice <b>not bold</b>");
  await bob.press("#text", "Enter");
  await waitText(alice, "log", "not bold", true);
  // Text is shown as text, never parsed as HTML.
  assert.equal(await alice.locator("#log b").count(), 0);

  const out = join(ROOT, "test-output");
  mkdirSync(out, { recursive: true });
  await alice.screenshot({ path: join(out, "chat-demo.png") });

  // Restart the server on the same port: both pages reconnect (with backoff) and rejoin.
  const port = first.host.split(":")[1];
  assert.equal((await first.child.kill("SIGTERM")).code, 0);
  await alice.waitForSelector("#status.offline", { timeout: 10_000 });
  // While offline the member list is marked out of date, not left looking current.
  await alice.waitForSelector("#member-list.stale", { timeout: 10_000 });
  assert.match(await text(alice, "#members"), /offline/);
  assert.match(await text(alice, "#log li:last-child"), /connection lost; reconnecting/);
  await serve(t, ["--port", port, "--quiet"]);
  for (const page of [alice, bob]) await page.waitForSelector("#status.online", { timeout: 20_000 });
  await waitText(alice, "members", "2 members in #e2e");
  assert.deepEqual(await memberNames(alice), ["alice", "bob"]);
  assert.equal(await alice.locator("#member-list.stale").count(), 0);
  const log = await alice.locator("#log li").allTextContents();
  assert.equal(log.filter((l: string) => /connection lost/.test(l)).length, 1, "one line per outage, not one per retry");
  assert.equal(log.filter((l: string) => /back online; rejoining #e2e/.test(l)).length, 1);
  await bob.fill("#text", "back again");
  await bob.press("#text", "Enter");
  await waitText(alice, "log", "back again", true);

  await bob.close();
  await waitText(alice, "members", "1 member in #e2e");
  assert.deepEqual(await memberNames(alice), ["alice"]);

  // A flood: 15 messages sent in one go. The burst lets some through; the first refused one
  // comes back into the box, and the log gets one notice, not one line per refused message.
  await alice.evaluate(() => {
    const doc = (globalThis as unknown as { document: { getElementById(id: string): any } }).document;
    const input = doc.getElementById("text");
    const form = doc.getElementById("say");
    for (let i = 0; i < 15; i++) {
      input.value = `flood ${i}`;
      form.requestSubmit();
    }
  });
  await alice.waitForSelector("#log li.warn", { timeout: 10_000 });
  assert.equal(await alice.locator("#log li.warn").count(), 1);
  assert.match(await text(alice, "#log li.warn"), /not sent/);
  assert.match(await alice.inputValue("#text"), /^flood \d+$/);
  const sent = (await alice.locator("#log li").allTextContents()).filter((l: string) => /flood \d+/.test(l)).length;
  assert.equal(await alice.inputValue("#text"), `flood ${sent}`, "the first refused message is the one after those that went through");
  await context.close();
});
