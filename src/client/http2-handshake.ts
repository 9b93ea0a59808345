/**
 * The client's opening handshake over HTTP/2 (RFC 8441): an extended CONNECT on a pooled
 * session, or the HTTP/1.1 handshake when the origin does not accept it. Either way the
 * result is an {@link OpenedSocket}: the HTTP/2 stream is a Duplex like the upgraded socket.
 */
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { validateConnectResponse, WEBSOCKET_VERSION } from "../protocol/handshake.js";
import { acquireSession, type Acquired } from "./http2-session-pool.js";
import { clientTlsOptions, failWithBody, openingHandshake, type OpenedSocket } from "./opening-handshake.js";
import type { WebSocketOptions } from "./options.js";

/**
 * Request headers that may not be sent over HTTP/2 (RFC 9113 §8.2.2 connection-specific
 * fields; `host`, which `:authority` replaces, RFC 9113 §8.3.1): dropped from the
 * `headers` option instead of failing the request.
 */
const NOT_OVER_HTTP2 = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"]);

const EMPTY = Buffer.alloc(0);

/**
 * Times a request refused before the server processed it (RST_STREAM REFUSED_STREAM, or a
 * GOAWAY that arrived first) is sent again, on a new session if need be (RFC 9113 §8.7:
 * such a request "can be safely retried").
 */
const MAX_ATTEMPTS = 3;

/**
 * Runs the opening handshake over HTTP/2 when the origin accepts extended CONNECT, else over
 * HTTP/1.1 within what is left of the same `timeoutMs` (one handshake timeout in all).
 * `onRequest` receives the function that aborts the attempt (again on fallback).
 */
export function http2OpeningHandshake(
  url: URL,
  protocols: readonly string[],
  extensionOffer: string | undefined,
  options: WebSocketOptions,
  timeoutMs: number,
  onRequest: (abort: (reason: Error) => void) => void,
): Promise<OpenedSocket> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const secure = url.protocol === "wss:";
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || (secure ? 443 : 80));
    let settled = false;
    let stream: ClientHttp2Stream | null = null;
    let release: () => void = noop;
    // Stops a wait for the pool (SETTINGS, TLS) when this attempt fails or is abandoned.
    const gaveUp = new AbortController();
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      gaveUp.abort(err);
      // RST_STREAM (CANCEL) for a stream still open; the session stays for the others.
      if (stream !== null) cancel(stream);
      release();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`opening handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    onRequest(fail);

    let attempts = 0;
    const attempt = (): void => {
      attempts++;
      acquireSession({ secure, host, port, tls: clientTlsOptions(host, options) }, Math.max(1, deadline - Date.now()), gaveUp.signal).then(onAcquired, fail);
    };
    /** RFC 9113 §8.7: refused before processing: try again while attempts and time are left. */
    const refused = (err: Error, s: ClientHttp2Stream | null): void => {
      if (settled || stream !== s) return;
      stream = null;
      if (s !== null) cancel(s);
      release();
      release = noop;
      if (attempts < MAX_ATTEMPTS) attempt();
      else fail(err);
    };

    const onAcquired = (acquired: Acquired): void => {
      if (settled) {
        // Aborted or timed out meanwhile.
        if (acquired.kind === "h2") acquired.release();
        else acquired.socket?.destroy();
        return;
      }
      if (acquired.kind === "h1") {
        // The origin does not accept RFC 8441: HTTP/1.1, in the time left.
        settled = true;
        clearTimeout(timer);
        const left = deadline - Date.now();
        if (left <= 0) {
          acquired.socket?.destroy();
          reject(new Error(`opening handshake timed out after ${timeoutMs} ms`));
          return;
        }
        resolve(openingHandshake(url, protocols, extensionOffer, options, left, onRequest, acquired.socket));
        return;
      }
      release = acquired.release;
      // RFC 8441 §4-5: the extended CONNECT; no Sec-WebSocket-Key (and no Accept to check).
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        const lower = name.toLowerCase();
        if (!NOT_OVER_HTTP2.has(lower)) headers[lower] = value;
      }
      headers[":method"] = "CONNECT";
      headers[":protocol"] = "websocket";
      // RFC 8441 §5: "https" for wss, "http" for ws.
      headers[":scheme"] = secure ? "https" : "http";
      headers[":path"] = url.pathname + url.search;
      headers[":authority"] = url.host;
      headers["sec-websocket-version"] = WEBSOCKET_VERSION;
      if (protocols.length > 0) headers["sec-websocket-protocol"] = protocols.join(", ");
      if (extensionOffer !== undefined) headers["sec-websocket-extensions"] = extensionOffer;
      if (options.origin !== undefined) headers["origin"] = options.origin;
      let s: ClientHttp2Stream;
      try {
        s = acquired.session.request(headers, { endStream: false });
      } catch (err) {
        // The session is going away (a GOAWAY arrived since): another one will do.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ERR_HTTP2_GOAWAY_SESSION" || code === "ERR_HTTP2_INVALID_SESSION") return refused(err as Error, null);
        // An invalid header name or value: fail, never throw from a callback.
        fail(err as Error);
        return;
      }
      stream = s;
      const slot = acquired.release;
      s.once("close", slot);
      const onError = (err: Error): void => (s.rstCode === constants.NGHTTP2_REFUSED_STREAM ? refused(err, s) : fail(err));
      const onClose = (): void => {
        const err = new Error(`the server closed the HTTP/2 stream before answering${s.rstCode ? ` (RST_STREAM code ${s.rstCode})` : ""}`);
        if (s.rstCode === constants.NGHTTP2_REFUSED_STREAM) refused(err, s);
        else if (stream === s) fail(err);
      };
      s.on("error", onError);
      s.once("close", onClose);
      s.once("response", (response: IncomingHttpHeaders) => {
        const status = Number(response[":status"]);
        if (status >= 200 && status <= 299) {
          try {
            const result = validateConnectResponse(status, response, protocols);
            settled = true;
            clearTimeout(timer);
            // Until the transport listens (next microtask), an error must not crash the process.
            s.removeListener("error", onError);
            s.on("error", noop);
            s.removeListener("close", onClose);
            s.destroy = destroyWithCancel;
            resolve({ ...result, socket: s, head: EMPTY, status, httpVersion: "2" });
          } catch (err) {
            fail(err as Error);
          }
          return;
        }
        // RFC 8441 §5 / RFC 6455 §4.1: any other answer fails; keep the start of its body.
        s.removeListener("close", onClose);
        failWithBody(s, status, "", fail);
      });
    };
    attempt();
  });
}

/** RFC 8441 §6: an abortive close (TCP's RST) is RST_STREAM with CANCEL. */
function cancel(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
}

/**
 * The established stream's `destroy`: the transport destroys its Duplex when it gives up on a
 * connection (close timeout, terminate); on an HTTP/2 stream that must send CANCEL
 * (RFC 8441 §6), where Node would send NO_ERROR. With an error, Node's own destroy runs.
 */
function destroyWithCancel(this: ClientHttp2Stream, error?: Error | null): ClientHttp2Stream {
  if ((error === undefined || error === null) && !this.closed && !this.destroyed) {
    this.close(constants.NGHTTP2_CANCEL);
    return this;
  }
  return Object.getPrototypeOf(this).destroy.call(this, error);
}

function noop(): void {}
