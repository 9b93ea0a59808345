/**
 * Sends exact request bytes over a new loopback TCP connection and reads everything the
 * server sends until it closes the connection: for checking rejected handshakes, where the
 * server must answer with an HTTP status and then close the socket itself.
 */
import { connect } from "node:net";

/** What came back from {@link exchangeUntilClose}. */
export interface HttpExchange {
  /** The status code of the response ("HTTP/1.1 400 ..."), or NaN if none. */
  status: number;
  /** Response headers by lower-case name. */
  headers: Record<string, string>;
  /** The bytes after the head. */
  body: string;
  /** True when the server ended the connection (we never do before the timeout). */
  closedByServer: boolean;
}

/** Writes `request`, then reads until the server closes the connection or `timeoutMs` passes. */
export function exchangeUntilClose(port: number, request: string | Buffer, timeoutMs = 5000): Promise<HttpExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => {
      closedByServer = true;
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A reset after the response still counts as the server closing the connection.
      if (error.code === "ECONNRESET" || error.code === "EPIPE") closedByServer = true;
      else reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const head = end === -1 ? text : text.slice(0, end);
      const lines = head.split("\r\n");
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: match === null ? NaN : Number(match[1]), headers, body: end === -1 ? "" : text.slice(end + 4), closedByServer });
    });
  });
}
