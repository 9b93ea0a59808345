/**
 * Typed errors of the protocol core. Every failure carries the close code the transport must
 * send (RFC 6455 §7.1.7 "Fail the WebSocket Connection"); nothing in the core throws strings.
 */

/** A violation of RFC 6455 or RFC 7692 by the peer, with the close code to answer it with. */
export class ProtocolError extends Error {
  /** The close code to send to the peer: 1002, 1007, 1009, 1010 or 1011. */
  readonly closeCode: number;

  constructor(closeCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
    // V8 keeps every stack frame's receiver until the stack is first read. Raised inside a
    // zlib callback, this error pinned zlib's input (a refused bomb's 4 MiB, measured) for as
    // long as anyone kept the error or its connection: format the stack now and let them go.
    void this.stack;
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

/**
 * A frame this endpoint was asked to send would break RFC 6455 (the caller's mistake, as
 * wsproto's `LocalProtocolError`, never the peer's): the frame is refused, nothing is queued.
 * `code` is stable to switch on; it extends RangeError because every case is a value out of range.
 */
export class LocalProtocolError extends RangeError {
  /**
   * `WSX_ERR_CONTROL_PAYLOAD_TOO_LONG` (RFC 6455 §5.5: at most 125 bytes),
   * `WSX_ERR_INVALID_CLOSE_CODE` (RFC 6455 §7.4: 1000-1003, 1007-1014, 3000-4999),
   * `WSX_ERR_CLOSE_REASON_TOO_LONG` (RFC 6455 §5.5.1: at most 123 bytes of UTF-8),
   * `WSX_ERR_CLOSE_REASON_WITHOUT_CODE` (RFC 6455 §5.5.1: a reason follows a code).
   */
  readonly code: LocalProtocolErrorCode;

  constructor(code: LocalProtocolErrorCode, message: string) {
    super(message);
    this.name = "LocalProtocolError";
    this.code = code;
  }
}

/** The codes a {@link LocalProtocolError} carries. */
export type LocalProtocolErrorCode =
  | "WSX_ERR_CONTROL_PAYLOAD_TOO_LONG"
  | "WSX_ERR_INVALID_CLOSE_CODE"
  | "WSX_ERR_CLOSE_REASON_TOO_LONG"
  | "WSX_ERR_CLOSE_REASON_WITHOUT_CODE";
