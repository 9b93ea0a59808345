/**
 * Headless Chromium for browser tests, driven by playwright-core with the system's Chromium
 * (no browser download). Require the component first:
 * `if (!(await componentOrSkip(t, "chromium"))) return;` or `{ skip: await skipUnless("chromium") }`.
 */
import { chromium, type Browser, type LaunchOptions } from "playwright-core";
import type { TestContext } from "node:test";
import { CHROMIUM_PATH } from "./components.js";
import { scaled } from "./time.js";

/** Flags for a quiet, deterministic headless Chromium that only talks to loopback. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox", // root in CI; the sandbox needs user namespaces
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage", // small /dev/shm in containers
];

/**
 * Chromium 142+ "Local Network Access" blocks `ws://127.0.0.1` from pages whose origin is
 * not itself local — including `data:` URLs, `about:blank` and `page.setContent()` pages
 * (the WebSocket just fails with an error event). Either load the test page from an
 * http://127.0.0.1 server (recommended: like real use), or launch with this flag
 * (`allowLoopbackFromAnyPage: true`).
 */
export const DISABLE_LOCAL_NETWORK_ACCESS = "--disable-features=LocalNetworkAccessChecks";

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** Close the browser when this test ends, however it ends. */
  t?: TestContext;
  /** Add {@link DISABLE_LOCAL_NETWORK_ACCESS}. */
  allowLoopbackFromAnyPage?: boolean;
  /** More Chromium flags. */
  args?: string[];
  /** Launch deadline, ms before scaling (default 30000). */
  timeoutMs?: number;
}

/**
 * Launches headless Chromium (fresh temporary profile per launch, made by playwright).
 *
 * @example const browser = await launchChromium({ t }); const page = await browser.newPage();
 */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  const launchOptions: LaunchOptions = {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      ...(options.allowLoopbackFromAnyPage === true ? [DISABLE_LOCAL_NETWORK_ACCESS] : []),
      ...(options.args ?? []),
    ],
    timeout: scaled(options.timeoutMs ?? 30_000),
    // playwright's defaults close the browser when this process gets SIGINT/SIGTERM/SIGHUP.
  };
  const browser = await chromium.launch(launchOptions);
  options.t?.after(async () => {
    await browser.close();
  });
  return browser;
}
