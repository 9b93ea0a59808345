/**
 * A self-signed TLS certificate for local use (`wsx serve --http2` without `--cert`), valid
 * for `localhost`, `127.0.0.1` and `::1` for 30 days. Generated in-process — a P-256 key,
 * a hand-encoded DER X.509 v3 certificate (RFC 5280), ECDSA-SHA256 — so no openssl is needed.
 * Browsers do not trust it: it is for trying things on this machine, never for serving others.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";

// ---- minimal DER (X.690) ----
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => der(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer): Buffer => der(0xa0 | n, inner);
const octets = (b: Buffer): Buffer => der(0x04, b);
const bitString = (b: Buffer): Buffer => der(0x03, Buffer.concat([Buffer.from([0]), b]));
const bool = (v: boolean): Buffer => der(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string): Buffer => der(0x0c, Buffer.from(s, "utf8"));

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  if ((b[0] & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return der(0x02, b);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function utcTime(date: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, "0");
  const s = `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, "ascii"));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function toPem(label: string, body: Buffer): string {
  const b64 = body.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A generated certificate and its key, PEM, with the certificate's SHA-256 fingerprint. */
export interface GeneratedCert {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PKCS#8 PEM. */
  key: string;
  /** SHA-256 fingerprint of the certificate ("AB:CD:…"), to recognise it in a browser. */
  fingerprint: string;
  /** When it stops being valid. */
  validTo: string;
}

/** Builds a fresh self-signed certificate for localhost, 127.0.0.1 and ::1 (30 days). */
export function generateSelfSignedCert(commonName = "localhost"): GeneratedCert {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  // subjectPublicKey bits of the SPKI, for the key identifier (RFC 5280 §4.2.1.2 method 1).
  const keyId = createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
  const san = seq(
    der(0x82, Buffer.from("localhost", "ascii")), // dNSName
    der(0x87, Buffer.from([127, 0, 0, 1])), // iPAddress 127.0.0.1
    der(0x87, Buffer.concat([Buffer.alloc(15), Buffer.from([1])])), // iPAddress ::1
  );
  const extensions = seq(
    extension("2.5.29.19", true, seq()), // basicConstraints: CA:FALSE
    extension("2.5.29.15", true, der(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
    extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
    extension("2.5.29.14", false, octets(keyId)), // subjectKeyIdentifier
    extension("2.5.29.17", false, san), // subjectAltName
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(utcTime(new Date(now - 24 * 3600_000)), utcTime(new Date(now + 30 * 24 * 3600_000))),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign("sha256", tbs, privateKey); // DER ECDSA-Sig-Value
  const cert = toPem("CERTIFICATE", seq(tbs, ecdsaWithSha256, bitString(signature)));
  const key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  // Self-check with Node's X.509 parser, so a broken encoding fails here, not in a TLS handshake.
  const x509 = new X509Certificate(cert);
  if (!x509.verify(publicKey) || x509.checkHost("localhost") === undefined || x509.checkIP("127.0.0.1") === undefined) {
    throw new Error("generateSelfSignedCert: the generated certificate does not verify");
  }
  return { cert, key, fingerprint: x509.fingerprint256, validTo: x509.validTo };
}
