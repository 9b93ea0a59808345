// The chat page's reconnecting client in Chromium: a room's history on join; a page whose
// TCP connection is cut (through a relay only it uses) comes back and shows what was said
// while it was away, exactly once; after a server restart (a new history) it says plainly
// that what it missed cannot be shown. Also: `wsx serve` serves the browser module.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join as joinPath } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { scaled } from "../helpers/time.js";
import { componentOrSkip } from "../helpers/components.js";
import { startRelay } from "../helpers/relay.js";
import { ROOT, serve } from "./wsx.js";

/** The page's `document`, typed just enough (this project compiles without the DOM types). */
type PageDocument = { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };

/** Waits until some chat line's text (the message itself) equals `text`. */
async function waitMessage(page: Page, text: string): Promise<void> {
  // A function, not a string: the page's CSP forbids eval (script-src 'self').
  await page.waitForFunction(
    (text) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      return Array.from(doc.querySelectorAll("#log li span:last-child")).some((s) => s.textContent === text);
    },
    text,
    { timeout: scaled(15_000) },
  );
}

/** The texts of the chat messages shown, in order (system lines excluded). */
const messages = (page: Page): Promise<string[]> => page.locator("#log li:has(.who) span:last-child").allTextContents();

async function join(page: Page, name: string, room: string): Promise<void> {
  await page.waitForSelector("#status.online", { timeout: scaled(15_000) });
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join button");
  await page.waitForSelector("#text:not([disabled])", { timeout: scaled(15_000) });
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
  await waitMessage(page, text);
}

test("wsx serve serves the browser module: the browser-safe files only, as JavaScript, importing nothing from Node", async (t) => {
  const served = await serve(t, ["--quiet"]);
  for (const file of ["browser.js", "reconnecting-websocket.js", "topic-client.js", "backoff.js", "offset.js", "events.js"]) {
    const res = await fetch(`http://${served.host}/wsx/reconnect/${file}`);
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    const body = await res.text();
    assert.doesNotMatch(body, /from "node:|require\(|process\.|Buffer\./, `${file} is browser-safe`);
  }
  for (const path of ["node.js", "node.d.ts", "../websocket.js", "%2e%2e/websocket.js", "browser.d.ts"]) {
    assert.equal((await fetch(`http://${served.host}/wsx/reconnect/${path}`)).status, 404, path);
  }
});

test("chat: history on join; a page cut off comes back and shows what was said meanwhile exactly once; after a restart, a notice that the gap cannot be filled", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  let served = await serve(t, ["--quiet"]);
  const port = Number(served.host.split(":")[1]);
  // Bob's page goes through this relay: cutting it cuts bob alone.
  const relay = await startRelay(port, t);
  const browser = await launchChromium({ t });
  const context = await browser.newContext();
  const alice = await context.newPage();
  const bob = await context.newPage();
  await alice.goto(`http://${served.host}/`);
  await join(alice, "alice", "r1");
  await say(alice, "history one");
  await say(alice, "history two");

  // Joining shows the room's recent messages, marked as history.
  await bob.goto(`http://127.0.0.1:${relay.port}/`);
  await join(bob, "bob", "r1");
  await waitMessage(bob, "history two");
  assert.deepEqual(await messages(bob), ["history one", "history two"]);
  assert.equal(await bob.locator("#log li.history").count(), 2);

  // Bob's connection is reset and kept down while alice speaks.
  relay.hold();
  relay.cut();
  await bob.waitForSelector("#status.offline", { timeout: scaled(15_000) });
  for (const text of ["while away 1", "while away 2", "while away 3"]) await say(alice, text);
  relay.release();
  await bob.waitForSelector("#status.online", { timeout: scaled(20_000) });
  await waitMessage(bob, "while away 3");
  await say(alice, "live again");
  await waitMessage(bob, "live again");
  assert.deepEqual(await messages(bob), ["history one", "history two", "while away 1", "while away 2", "while away 3", "live again"]);
  const bobLog = await bob.locator("#log li").allTextContents();
  assert.equal(bobLog.filter((l) => /connection lost; reconnecting/.test(l)).length, 1);
  assert.equal(bobLog.filter((l) => /back online; rejoining #r1/.test(l)).length, 1);
  assert.equal(await bob.locator("#log li.gap").count(), 0, "nothing was lost");
  assert.equal(await bob.locator("#log li.history").count(), 2, "what was missed is not shown as old history");
  await say(bob, "bob is back");
  await waitMessage(alice, "bob is back");
  assert.equal((await messages(alice)).filter((m) => m === "bob is back").length, 1);

  // A restart loses the in-memory history (a new epoch): the page cannot be given what it
  // missed, and says so once; then it goes on live.
  relay.hold();
  relay.cut();
  await bob.waitForSelector("#status.offline", { timeout: scaled(15_000) });
  assert.equal((await served.child.kill("SIGTERM")).code, 0);
  served = await serve(t, ["--port", String(port), "--quiet"]);
  await alice.waitForSelector("#status.online", { timeout: scaled(20_000) });
  await alice.waitForSelector("#text:not([disabled])", { timeout: scaled(15_000) });
  await say(alice, "said after the restart");
  relay.release();
  await bob.waitForSelector("#log li.gap", { timeout: scaled(20_000) });
  assert.match((await bob.locator("#log li.gap").textContent()) ?? "", /cannot be shown/);
  await say(alice, "and live");
  await waitMessage(bob, "and live");
  assert.equal(await bob.locator("#log li.gap").count(), 1);
  const after = await messages(bob);
  assert.deepEqual(after.slice(0, 6), ["history one", "history two", "while away 1", "while away 2", "while away 3", "live again"]);
  assert.equal(after.filter((m) => m === "and live").length, 1);
  const out = joinPath(ROOT, "test-output");
  mkdirSync(out, { recursive: true });
  await bob.screenshot({ path: joinPath(out, "chat-reconnect.png") });
  await context.close();
});

/** What the topic-client test page keeps on `globalThis`. */
type TopicProbe = { texts: string[]; events: string[]; publishError: string };

test("the browser topic client reads a chat room over wsx.topics.v1 and resumes it after a cut, with no gap and no duplicate", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  const served = await serve(t, ["--quiet"]);
  const relay = await startRelay(Number(served.host.split(":")[1]), t);
  const browser = await launchChromium({ t });
  const context = await browser.newContext();
  const alice = await context.newPage();
  await alice.goto(`http://${served.host}/`);
  await join(alice, "alice", "r2");
  await say(alice, "before 1");
  await say(alice, "before 2");

  const reader = await context.newPage();
  await reader.goto(`http://127.0.0.1:${relay.port}/`);
  const snapshot = (): Promise<TopicProbe> => reader.evaluate(() => (globalThis as unknown as { probe: TopicProbe }).probe);
  await reader.evaluate(async (url) => {
    const m = (await import("/wsx/reconnect/browser.js" as string)) as {
      ReconnectingWebSocket: new (url: string, p: string, o: object) => EventTarget;
      TopicClient: new (s: EventTarget) => EventTarget & {
        subscribe(topic: string, o: object, f: (data: { text: string }) => void): { ready: Promise<void> };
        publish(topic: string, data: unknown): Promise<unknown>;
      };
      TOPICS_PROTOCOL: string;
    };
    const p: TopicProbe = { texts: [], events: [], publishError: "" };
    (globalThis as unknown as { probe: TopicProbe }).probe = p;
    const socket = new m.ReconnectingWebSocket(url, m.TOPICS_PROTOCOL, { initialDelay: 50 });
    const topics = new m.TopicClient(socket);
    for (const type of ["online", "offline"]) socket.addEventListener(type, () => p.events.push(type));
    for (const type of ["resumed", "unrecoverable"]) topics.addEventListener(type, () => p.events.push(type));
    await topics.subscribe("room:r2", { last: 10 }, (data) => p.texts.push(data.text)).ready;
    // The chat server lets topic clients read rooms, not write them.
    await topics.publish("room:r2", { text: "forged" }).catch((err: { code: string }) => (p.publishError = err.code));
  }, `ws://127.0.0.1:${relay.port}/chat`);
  assert.deepEqual((await snapshot()).texts, ["before 1", "before 2"]);
  assert.equal((await snapshot()).publishError, "forbidden");

  relay.hold();
  relay.cut();
  await reader.waitForFunction(() => (globalThis as unknown as { probe: TopicProbe }).probe.events.includes("offline"), undefined, { timeout: scaled(15_000) });
  for (const text of ["away 1", "away 2", "away 3"]) await say(alice, text);
  relay.release();
  await reader.waitForFunction(() => (globalThis as unknown as { probe: TopicProbe }).probe.events.includes("resumed"), undefined, { timeout: scaled(20_000) });
  await say(alice, "live");
  await reader.waitForFunction(() => (globalThis as unknown as { probe: TopicProbe }).probe.texts.includes("live"), undefined, { timeout: scaled(15_000) });
  const end = await snapshot();
  assert.deepEqual(end.texts, ["before 1", "before 2", "away 1", "away 2", "away 3", "live"]);
  assert.deepEqual(end.events, ["online", "offline", "online", "resumed"]);
  await context.close();
});
