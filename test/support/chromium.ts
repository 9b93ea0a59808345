/**
 * Debian's Chromium driven by playwright-core (`executablePath`, no browser download). Pages
 * should be loaded from an http://127.0.0.1 server: Chromium's Local Network Access checks
 * block ws://127.0.0.1 from data: and about:blank pages.
 */
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM } from "./components.js";

/** Launches headless Chromium with a fresh profile; close it with `browser.close()`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox", // root in CI
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}
