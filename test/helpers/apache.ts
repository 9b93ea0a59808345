/**
 * Apache httpd (Debian's `apache2`) as a third-party RFC 8441 peer: mod_http2 with
 * `H2WebSockets on` accepts WebSockets as extended CONNECT streams and proxies them
 * (mod_proxy_wstunnel) to an HTTP/1.1 WebSocket backend. Cleartext (h2c with prior
 * knowledge) or TLS (ALPN h2) with the test certificate. Killed when the test ends.
 *
 * ```ts
 * const apache = await startApacheH2Proxy(t, backend.port, { tls: true });
 * new WebSocket(apache.url, [], { http2: true, ca: apache.ca });
 * ```
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { selfSignedCert } from "./certs.js";
import { freePort } from "./ports.js";
import { spawnChild } from "./process.js";
import { waitUntil } from "./time.js";

/** Debian's httpd binary. `WSX_TEST_APACHE` overrides it. */
export const APACHE_PATH: string = process.env.WSX_TEST_APACHE ?? "/usr/sbin/apache2";
/** Where Debian keeps its modules. */
const MODULES = "/usr/lib/apache2/modules";

/** Whether httpd and the modules the proxy needs are installed. */
export function apacheAvailable(): boolean {
  try {
    for (const path of [APACHE_PATH, ...["mod_http2", "mod_proxy", "mod_proxy_http", "mod_proxy_wstunnel", "mod_ssl"].map((m) => join(MODULES, `${m}.so`))]) accessSync(path, constants.R_OK);
    accessSync(APACHE_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A running proxy; see {@link startApacheH2Proxy}. */
export interface ApacheH2Proxy {
  /** `ws://127.0.0.1:<port>/` or `wss://localhost:<port>/`. */
  readonly url: string;
  readonly port: number;
  /** The certificate to trust with tls. */
  readonly ca: string | undefined;
}

function config(dir: string, port: number, backendPort: number, tls: boolean): string {
  const { certPath, keyPath } = selfSignedCert();
  const load = (name: string, file: string): string => `LoadModule ${name} ${join(MODULES, file)}\n`;
  return (
    `ServerRoot ${dir}\nPidFile ${dir}/httpd.pid\nErrorLog ${dir}/error.log\nLogLevel notice\n` +
    `Listen 127.0.0.1:${port}\nServerName localhost\nUser www-data\nGroup www-data\n` +
    load("mpm_event_module", "mod_mpm_event.so") +
    load("authz_core_module", "mod_authz_core.so") +
    load("http2_module", "mod_http2.so") +
    load("proxy_module", "mod_proxy.so") +
    load("proxy_http_module", "mod_proxy_http.so") +
    load("proxy_wstunnel_module", "mod_proxy_wstunnel.so") +
    (tls
      ? load("socache_shmcb_module", "mod_socache_shmcb.so") +
        load("ssl_module", "mod_ssl.so") +
        `SSLEngine on\nSSLCertificateFile ${certPath}\nSSLCertificateKeyFile ${keyPath}\nProtocols h2 http/1.1\n`
      : // RFC 9113 §3.3: HTTP/2 with prior knowledge on a cleartext port.
        `Protocols h2c http/1.1\nH2Direct on\n`) +
    // RFC 8441 in mod_http2 (httpd 2.4.58 and later).
    `H2WebSockets on\nProxyPass "/" "ws://127.0.0.1:${backendPort}/" upgrade=websocket\n`
  );
}

/**
 * Starts httpd on a free port in front of the HTTP/1.1 WebSocket server on `backendPort`;
 * resolves once it serves. Retries with another port if the one found is taken meanwhile.
 */
export async function startApacheH2Proxy(t: TestContext, backendPort: number, options: { tls?: boolean } = {}): Promise<ApacheH2Proxy> {
  const tls = options.tls === true;
  const dir = mkdtempSync(join(tmpdir(), "wsx-apache-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const log = join(dir, "error.log");
    rmSync(log, { force: true });
    writeFileSync(join(dir, "httpd.conf"), config(dir, port, backendPort, tls));
    const child = spawnChild(APACHE_PATH, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], { t, name: "apache2" });
    // AH00489: "... configured -- resuming normal operations", logged once it listens.
    const started = (): boolean => existsSync(log) && readFileSync(log, "utf8").includes("resuming normal operations");
    try {
      await waitUntil(() => started() || !child.running(), "apache2 to start", 10_000);
      if (started()) return { url: tls ? `wss://localhost:${port}/` : `ws://127.0.0.1:${port}/`, port, ca: tls ? selfSignedCert().cert : undefined };
      lastError = new Error(`apache2 exited at start:\n${child.stderr()}${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
    } catch (err) {
      lastError = err;
    }
    await child.kill();
  }
  throw lastError;
}
