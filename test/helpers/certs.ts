/**
 * A self-signed TLS certificate for `wss://` tests, valid for `localhost`, `127.0.0.1` and
 * `::1`. Generated in-process by the CLI's generator (src/cli/self-signed-cert.ts), so no
 * openssl command is needed; PEM files are also written to a temporary directory for
 * peers that need paths (the Python server), removed when the process exits.
 *
 * Trust it with `ca: cert` in Node (https/tls/ws) and `caPath: certPath` for Python.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSelfSignedCert as generate } from "../../src/cli/self-signed-cert.js";

/** The process's certificate: PEM text, and the same written to files for peers that need paths. */
export interface SelfSignedCert {
    /** The certificate, PEM. */
    cert: string;
    /** Its private key, PKCS#8 PEM. */
    key: string;
    /** A file holding `cert`. */
    certPath: string;
    /** A file holding `key` (mode 0600). */
    keyPath: string;
}
/** Builds a fresh self-signed certificate (not cached); see {@link selfSignedCert}. */
export function generateSelfSignedCert(commonName = "localhost"): { cert: string; key: string } {
    const { cert, key } = generate(commonName);
    return { cert, key };
}
let cached: SelfSignedCert | null = null;
/**
 * The process's self-signed certificate for localhost/127.0.0.1/::1 (made once, cached).
 *
 * @example const { cert, key } = selfSignedCert(); https.createServer({ cert, key });
 */
export function selfSignedCert(): SelfSignedCert {
    if (cached !== null)
        return cached;
    const { cert, key } = generateSelfSignedCert();
    const dir = mkdtempSync(join(tmpdir(), "wsx-cert-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const certPath = join(dir, "cert.pem");
    const keyPath = join(dir, "key.pem");
    writeFileSync(certPath, cert);
    writeFileSync(keyPath, key, { mode: 0o600 });
    cached = { cert, key, certPath, keyPath };
    return cached;
}
