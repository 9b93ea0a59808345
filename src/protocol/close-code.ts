/**
 * WebSocket close status codes (RFC 6455 §7.4.1, IANA registry) and the rules for
 * which codes may appear on the wire.
 */

/** Close status codes with the names RFC 6455 §7.4.1 gives them. */
export const CloseCode = {
  /** 1000: the purpose for which the connection was established has been fulfilled. */
  NormalClosure: 1000,
  /** 1001: an endpoint is going away (server going down, browser navigating away). */
  GoingAway: 1001,
  /** 1002: the endpoint is terminating the connection due to a protocol error. */
  ProtocolError: 1002,
  /** 1003: the endpoint received a type of data it cannot accept. */
  UnsupportedData: 1003,
  /** 1005: reserved; no status code was present in the close frame (never sent). */
  NoStatusReceived: 1005,
  /** 1006: reserved; the connection was closed abnormally without a close frame (never sent). */
  AbnormalClosure: 1006,
  /** 1007: data within a message was not consistent with its type (e.g. non-UTF-8 text). */
  InvalidFramePayloadData: 1007,
  /** 1008: a message violated the endpoint's policy. */
  PolicyViolation: 1008,
  /** 1009: a message was too big to process. */
  MessageTooBig: 1009,
  /** 1010: the client expected the server to negotiate an extension it did not. */
  MandatoryExtension: 1010,
  /** 1011: the server met an unexpected condition that prevented it from fulfilling the request. */
  InternalError: 1011,
  /** 1012: the service is restarting (IANA registry). */
  ServiceRestart: 1012,
  /** 1013: try again later (IANA registry). */
  TryAgainLater: 1013,
  /** 1014: the gateway received an invalid response (IANA registry). */
  BadGateway: 1014,
  /** 1015: reserved; the TLS handshake failed (never sent). */
  TlsHandshake: 1015,
} as const;

/** A close code value from {@link CloseCode}. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2).
 * 1000-1003 and 1007-1014 are defined; 1004, 1005, 1006 and 1015 are reserved and must not be
 * sent; 1016-2999 are reserved for future RFCs; 3000-4999 are for libraries and applications;
 * everything else is invalid.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}
