// The browser module (/wsx/reconnect/browser.js, served by `wsx serve`) in Chromium, on the
// page's own WebSocket: a cut connection is reopened, sends made offline arrive after it,
// and the page's `online` event cuts a long backoff short.
import assert from "node:assert/strict";
import { test } from "node:test";
import { launchChromium } from "../helpers/chromium.js";
import { scaled } from "../helpers/time.js";
import { componentOrSkip } from "../helpers/components.js";
import { startRelay } from "../helpers/relay.js";
import { serve } from "../cli/wsx.js";

/** What the test page keeps on `globalThis`. */
type Probe = { events: string[]; echoes: string[]; rws: { send(d: string): boolean; close(): void; readyState: number } };

test("browser module in Chromium: reconnects through a cut, sends queued offline, retries at once when the network comes back", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  const served = await serve(t, ["--quiet"]);
  const relay = await startRelay(Number(served.host.split(":")[1]), t);
  const browser = await launchChromium({ t });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${relay.port}/`);
  const count = (type: string) => page.evaluate((type) => (globalThis as unknown as { probe: Probe }).probe.events.filter((e) => e === type).length, type);
  const waitCount = (type: string, n: number) =>
    page.waitForFunction(([type, n]) => (globalThis as unknown as { probe: Probe }).probe.events.filter((e) => e === type).length >= n, [type, n] as const, { timeout: scaled(15_000) });

  await page.evaluate(async (url) => {
    const m = (await import("/wsx/reconnect/browser.js" as string)) as {
      ReconnectingWebSocket: new (url: string, p: string[], o: object) => Probe["rws"] & EventTarget;
    };
    // First retry after a drop: about an hour (random 0.999 of initialDelay), so only the
    // page's `online` event can bring it back quickly.
    const rws = new m.ReconnectingWebSocket(url, [], { initialDelay: 3_600_000, maxDelay: 3_600_000, random: () => 0.999 });
    const probe: Probe = { events: [], echoes: [], rws };
    for (const type of ["online", "offline", "close"]) rws.addEventListener(type, () => probe.events.push(type));
    rws.addEventListener("message", (e) => probe.echoes.push(String((e as Event & { data: unknown }).data)));
    (globalThis as unknown as { probe: Probe }).probe = probe;
  }, `ws://127.0.0.1:${relay.port}/echo`);
  await waitCount("online", 1);

  relay.hold();
  relay.cut();
  await waitCount("offline", 1);
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { probe: Probe }).probe.rws.send("sent while offline")),
    false,
    "queued",
  );
  relay.release();
  // The network "comes back": Chromium fires the window's online event.
  await context.setOffline(true);
  await context.setOffline(false);
  await waitCount("online", 2);
  await page.waitForFunction(() => (globalThis as unknown as { probe: Probe }).probe.echoes.includes("sent while offline"), undefined, { timeout: scaled(15_000) });
  assert.equal(await count("offline"), 1);
  await page.evaluate(() => (globalThis as unknown as { probe: Probe }).probe.rws.close());
  await waitCount("close", 1);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { probe: Probe }).probe.rws.readyState), 3);
  await context.close();
});
