/** Turns a connection failure into one line a person understands. */
import { HandshakeError } from "../protocol/errors.js";

/** Longest part of a refused handshake's response body shown. */
const BODY_SHOWN = 500;

/** "refused", "DNS", "TLS", "timeout" or the handshake status and body, with the detail. */
export function describeFailure(err: Error | null, url: string): string {
  if (err === null) return `connection to ${url} failed`;
  const code = (err as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED") return `connection refused by ${url} (is the server running?)`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `DNS lookup failed for ${url} (${code})`;
  if (code === "ECONNRESET") return `connection reset by ${url}`;
  if (err instanceof HandshakeError) return refused(err, url);
  // A TLS handshake with a server that answered in plain HTTP: OpenSSL's "wrong version
  // number" (or "packet length too long"), not a certificate problem.
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG" || /wrong version number|packet length too long|http request/i.test(err.message)) {
    return `TLS failure with ${url}: the server did not answer in TLS (is it a plain ws:// port? try ${url.replace(/^wss:/, "ws:")})`;
  }
  if (code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT" || code === "SELF_SIGNED_CERT_IN_CHAIN" || /certificate/i.test(err.message)) {
    return `TLS failure with ${url}: ${firstLine(err.message)}${code ? ` (${code})` : ""} (trust its CA with --ca <file>, or skip the check with --insecure)`;
  }
  if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || code === "EPROTO" || /SSL|TLS/.test(err.message)) {
    return `TLS failure with ${url}: ${opensslReason(err.message)}${code ? ` (${code})` : ""}`;
  }
  return `${url}: ${firstLine(err.message)}`;
}

/** A refused opening handshake: the status line and what the server said in its body. */
function refused(err: HandshakeError, url: string): string {
  const status = err.message.replace(/^unexpected server response: /, "");
  const raw = (err as HandshakeError & { body?: unknown }).body;
  const body = typeof raw === "string" ? raw.trim().replace(/\s+/g, " ") : "";
  const shown = body.length > BODY_SHOWN ? `${body.slice(0, BODY_SHOWN)}…` : body;
  return `${url} refused the WebSocket handshake: HTTP ${status || err.status}${shown ? `: ${shown}` : ""}`;
}

function firstLine(message: string): string {
  return message.split("\n")[0].trim();
}

/** The readable part of an OpenSSL error string ("…:SSL routines:func:reason:file:line:"). */
function opensslReason(message: string): string {
  const m = /SSL routines:(?:[^:]*:)?([^:]+):/.exec(message);
  return m !== null ? m[1] : firstLine(message);
}
