// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
import { chromium } from "playwright-core";
import { CHROMIUM_PATH } from "./components.js";
/** Flags for a quiet, deterministic headless Chromium that only talks to loopback. */
export const CHROMIUM_ARGS = [
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
/**
 * Launches headless Chromium (fresh temporary profile per launch, made by playwright).
 *
 * @example const browser = await launchChromium({ t }); const page = await browser.newPage();
 */
export async function launchChromium(options = {}) {
    const launchOptions = {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [
            ...CHROMIUM_ARGS,
            ...(options.allowLoopbackFromAnyPage === true ? [DISABLE_LOCAL_NETWORK_ACCESS] : []),
            ...(options.args ?? []),
        ],
        timeout: options.timeoutMs ?? 30_000,
        // playwright's defaults close the browser when this process gets SIGINT/SIGTERM/SIGHUP.
    };
    const browser = await chromium.launch(launchOptions);
    options.t?.after(async () => {
        await browser.close();
    });
    return browser;
}
