/** Turns a connection failure into one line a person understands. */

/** "refused", "DNS", "TLS", "timeout" or the handshake status, with the detail. */
export function describeFailure(err: Error | null, url: string): string {
  if (err === null) return `connection to ${url} failed`;
  const code = (err as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED") return `connection refused by ${url} (is the server running?)`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `DNS lookup failed for ${url} (${code})`;
  if (code === "ECONNRESET") return `connection reset by ${url}`;
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT" || /certificate|TLS|SSL/i.test(err.message)) {
    return `TLS failure with ${url}: ${err.message}${code ? ` (${code})` : ""} (use --ca <file> or --insecure)`;
  }
  if (/timed out/.test(err.message)) return `${url}: ${err.message}`;
  return `${url}: ${err.message}`;
}
