/**
 * WHATWG WebSockets §WebSocketError: the DOMException a `WebSocketStream` rejects and errors
 * its streams with, carrying the close code and reason; and §"validate close code and
 * reason", shared with `WebSocketStream.close()`.
 */
import { exposeInterface, toClampedUnsignedShort, toDictionary, toDOMString, toUSVString } from "./webidl.js";

/** WHATWG WebSockets §WebSocketCloseInfo. */
export interface WebSocketCloseInfo {
  /** 1000 or 3000-4999 when given by a caller; the received code when reported. */
  closeCode?: number;
  /** At most 123 bytes of UTF-8. Default "". */
  reason?: string;
}

/**
 * Web IDL conversion of a `WebSocketCloseInfo` dictionary: members in lexicographic order,
 * `closeCode` as `[Clamp] unsigned short` (null when absent; as `WebSocket.close()` and as
 * Chromium, so NaN or 70000 meet the range check as 0 or 65535), `reason` as USVString.
 */
export function toCloseInfo(value: unknown, context: string): { code: number | null; reason: string } {
  const dict = toDictionary(value, context);
  const closeCode = dict.closeCode;
  const code = closeCode === undefined ? null : toClampedUnsignedShort(closeCode);
  const reasonValue = dict.reason;
  const reason = reasonValue === undefined ? "" : toUSVString(reasonValue);
  return { code, reason };
}

/**
 * WHATWG WebSockets §"validate close code and reason": a code other than 1000 or 3000-4999
 * is an InvalidAccessError, a reason over 123 UTF-8 bytes (RFC 6455 §5.5) a SyntaxError; a
 * non-empty reason without a code is sent with 1000.
 */
export function validateCloseCodeAndReason(code: number | null, reason: string): { code: number | null; reason: string } {
  if (code !== null && code !== 1000 && !(code >= 3000 && code <= 4999)) {
    throw new DOMException(`The close code must be 1000 or in 3000-4999, got ${code}`, "InvalidAccessError");
  }
  if (Buffer.byteLength(reason) > 123) throw new DOMException("The close reason must be at most 123 UTF-8 bytes", "SyntaxError");
  return { code: code === null && reason !== "" ? 1000 : code, reason };
}

/** Lets the client report a code a caller may not give (1005, 1006, 1011 …). */
const kInternal = Symbol("wsx.WebSocketError.internal");

/**
 * A `DOMException` named "WebSocketError" with the WebSocket close code and reason: what a
 * `WebSocketStream`'s `closed` promise rejects with when the connection did not close
 * cleanly, and what `writable.abort()`/`readable.cancel()` accept to choose the close frame.
 * Node cannot make it `[Serializable]` (structuredClone of a user class); otherwise as the
 * standard says.
 *
 * @example
 * writer.abort(new WebSocketError("bye", { closeCode: 4000, reason: "done" }));
 */
export class WebSocketError extends DOMException {
  readonly #closeCode: number | null;
  readonly #reason: string;

  /** `new WebSocketError(message, { closeCode, reason })`; the code and reason are validated. */
  constructor(message: string = "", init: WebSocketCloseInfo = {}) {
    const text = message === undefined ? "" : toDOMString(message);
    let closeCode: number | null;
    let reason: string;
    if ((init as { [kInternal]?: boolean } | null)?.[kInternal] === true) {
      closeCode = init.closeCode ?? null;
      reason = init.reason ?? "";
    } else {
      // WHATWG: new WebSocketError() steps 3-6.
      const info = toCloseInfo(init, "Failed to construct 'WebSocketError'");
      ({ code: closeCode, reason } = validateCloseCodeAndReason(info.code, info.reason));
    }
    super(text, "WebSocketError");
    this.#closeCode = closeCode;
    this.#reason = reason;
  }

  /** The close code, or null. */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The close reason, or "". */
  get reason(): string {
    return this.#reason;
  }
}
exposeInterface(WebSocketError, { name: "WebSocketError", attributes: ["closeCode", "reason"] });

/** A WebSocketError for what the connection reported (any code, e.g. 1006), unvalidated. */
export function reportedWebSocketError(message: string, closeCode: number | null, reason: string): WebSocketError {
  return new WebSocketError(message, { closeCode: closeCode ?? undefined, reason, [kInternal]: true } as WebSocketCloseInfo);
}
