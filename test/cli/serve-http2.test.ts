// `wsx serve --http2`: the chat demo over HTTP/2 in Chromium. The page and both WebSockets
// ride HTTP/2 (the server logs each WebSocket's HTTP version), with a certificate generated
// for the run and labelled as such.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { componentOrSkip } from "../helpers/components.js";
import { selfSignedCert } from "../helpers/certs.js";
import { connectRawH2, openH2Session } from "../helpers/raw-h2-client.js";
import { jsonLines, run, serve } from "./wsx.js";

type PageDocument = { getElementById(id: string): { textContent: string | null } | null };

async function waitLog(page: Page, expected: string): Promise<void> {
  await page.waitForFunction(
    (expected) => ((globalThis as unknown as { document: PageDocument }).document.getElementById("log")?.textContent ?? "").includes(expected),
    expected,
    { timeout: 10_000 },
  );
}

test("wsx serve --http2 without a certificate generates one and says so; h2 and the extended CONNECT setting are on", async (t) => {
  const served = await serve(t, ["--http2", "--quiet"], "https");
  const label = await served.child.waitForLine(/SELF-SIGNED CERTIFICATE generated for this run .*SHA-256 ([0-9A-F:]+)/, 5000);
  assert.equal(label[1].split(":").length, 32, "a SHA-256 fingerprint to recognise it by");
  await served.child.waitForLine(/for local use only/, 5000);
  const port = Number(served.host.split(":")[1]);
  // Any CA will not do: the client must refuse an unknown certificate.
  await assert.rejects(openH2Session(port, { ca: "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n", timeoutMs: 5000 }));
});

test("--cert/--key: /echo over HTTP/2; SIGTERM sends 1001 on the stream, then GOAWAY, and exits 0", async (t) => {
  const { cert, certPath, keyPath } = selfSignedCert();
  const served = await serve(t, ["--http2", "--cert", certPath, "--key", keyPath, "--quiet"], "https");
  const port = Number(served.host.split(":")[1]);
  const session = await openH2Session(port, { t, ca: cert });
  const c = await connectRawH2(port, { t, ca: cert, session, path: "/echo" });
  c.sendText("echo over h2");
  assert.equal((await c.nextFrame()).payload.toString(), "echo over h2");
  const events: string[] = [];
  session.session.on("goaway", () => events.push("goaway"));
  const exited = served.child.kill("SIGTERM");
  await c.expectClose(1001);
  events.push("closed 1001");
  assert.equal((await exited).code, 0);
  assert.deepEqual(events, ["closed 1001", "goaway"]);
});

test("--cert without --key is a usage error", async (t) => {
  const r = await run(t, ["serve", "--http2", "--cert", "/nonexistent.pem"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--tls-key/);
});

test("the chat demo works over HTTP/2 in Chromium: page and WebSockets on HTTP/2", async (t) => {
  if (!(await componentOrSkip(t, "chromium"))) return;
  const served = await serve(t, ["--http2", "--log", "json"], "https");
  const browser = await launchChromium({ t, args: ["--ignore-certificate-errors"] });
  const context = await browser.newContext();
  t.after(() => context.close());
  const [alice, bob] = [await context.newPage(), await context.newPage()];
  for (const [page, name] of [[alice, "alice"], [bob, "bob"]] as const) {
    await page.goto(`https://${served.host.replace("127.0.0.1", "localhost")}/`);
    const protocol = await page.evaluate(() => (globalThis as unknown as { performance: { getEntriesByType(t: string): Array<{ nextHopProtocol: string }> } }).performance.getEntriesByType("navigation")[0].nextHopProtocol);
    assert.equal(protocol, "h2", "the page came over HTTP/2");
    await page.waitForSelector("#status.online", { timeout: 10_000 });
    await page.fill("#name", name);
    await page.fill("#room", "h2");
    await page.click("#join button");
    await page.waitForSelector("#text:not([disabled])", { timeout: 10_000 });
  }
  await alice.fill("#text", "hello over h2");
  await alice.press("#text", "Enter");
  await waitLog(bob, "hello over h2");
  const opens = jsonLines<{ event: string; path?: string; http?: string }>(served.child.stderr()).filter((l) => l.event === "open");
  assert.deepEqual(
    opens.map((o) => [o.path, o.http]),
    [
      ["/chat", "2.0"],
      ["/chat", "2.0"],
    ],
    "both WebSockets were RFC 8441 streams",
  );
});
