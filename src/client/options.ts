/** Node-only options of the client `WebSocket` (the third constructor argument). */
import type { PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { SHARED_DEFAULTS } from "../protocol/limits.js";

/** Options of `new WebSocket(url, protocols, options)`; times in ms, sizes in bytes. */
export interface WebSocketOptions {
  /** Extra request headers for the opening handshake. */
  headers?: Record<string, string>;
  /** `Origin` header to send (browsers always send one; Node sends none unless asked). */
  origin?: string;
  /** Time allowed for the opening handshake, after which the connection fails. Default 10000. */
  handshakeTimeout?: number;
  /** Largest incoming message (after inflation); larger ones fail the connection with 1009. Default 16 MiB. */
  maxPayload?: number;
  /** Most frames one incoming message may arrive in; more fail the connection with 1008. Default 131072. */
  maxFragments?: number;
  /** Time to wait for the server to finish the close handshake. Default 5000. */
  closeTimeout?: number;
  /** permessage-deflate (RFC 7692): true for defaults, or options. Default false. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * HTTP CONNECT proxy: a URL such as "http://proxy:3128", or "env" to use the
   * HTTPS_PROXY / HTTP_PROXY / NO_PROXY environment variables. Default: no proxy.
   */
  proxy?: string;
  /**
   * Open the connection over HTTP/2 (RFC 8441 extended CONNECT), sharing one HTTP/2
   * connection per origin (and TLS options) among all such sockets. Falls back to HTTP/1.1
   * when the server does not enable the CONNECT protocol (its SETTINGS), when TLS ALPN
   * chooses http/1.1, or when a cleartext server does not speak HTTP/2; that verdict is
   * remembered per origin for 60 s. Ignored when a proxy applies. Default false: see
   * docs/CLIENT.md "HTTP/2".
   */
  http2?: boolean;
  /** TLS: trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** TLS: verify the server certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** TLS: server name for SNI and certificate checks. Default: the URL's host. */
  servername?: string;
  /** TLS client certificate (PEM). */
  cert?: string | Buffer;
  /** TLS client key (PEM). */
  key?: string | Buffer;
  /** TLS client certificate and key as PKCS#12. */
  pfx?: string | Buffer;
  /** Passphrase of `key` or `pfx`. */
  passphrase?: string;
  /**
   * Called with the payload of each pong the server sends (RFC 6455 §5.5.3), such as the
   * answer to `pingClient`. Node-only: browsers do not expose pongs. Default: none.
   */
  onPong?: (data: Buffer) => void;
}

/** Client defaults: the limits and times shared with the server. */
export const CLIENT_DEFAULTS: { readonly handshakeTimeout: number; readonly maxPayload: number; readonly maxFragments: number; readonly closeTimeout: number } = {
  handshakeTimeout: SHARED_DEFAULTS.handshakeTimeout,
  maxPayload: SHARED_DEFAULTS.maxPayload,
  maxFragments: SHARED_DEFAULTS.maxFragments,
  closeTimeout: SHARED_DEFAULTS.closeTimeout,
};
