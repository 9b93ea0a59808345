/**
 * Typed errors of the protocol core. Every failure carries the close code the transport must
 * send (RFC 6455 §7.1.7 "Fail the WebSocket Connection"); nothing in the core throws strings.
 */

/** A violation of RFC 6455 or RFC 7692 by the peer, with the close code to answer it with. */
export class ProtocolError extends Error {
  /** The close code to send to the peer: 1002, 1007, 1009, 1010 or 1011. */
  readonly closeCode: number;

  constructor(closeCode: number, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
  }
}

/** A rejected opening handshake, with the HTTP status (server side) to answer it with. */
export class HandshakeError extends Error {
  /** HTTP status code to answer with (400, 403, 426, 431 …). */
  readonly status: number;
  /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with a 426. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
  }
}
