/**
 * permessage-deflate (RFC 7692) negotiation: the client's offer, the server's choice among the
 * client's offers, and the client's check of the server's answer. Pure: no zlib, no I/O; the
 * codec that applies the result is `transport/permessage-deflate.ts`.
 *
 * The four parameters (RFC 7692 §7.1) and who compresses with what:
 *
 * | parameter                  | constrains                       | value in offer | value in response |
 * |----------------------------|----------------------------------|----------------|-------------------|
 * | server_no_context_takeover | the server's compressor          | none           | none              |
 * | client_no_context_takeover | the client's compressor          | none           | none              |
 * | server_max_window_bits     | the server's compressor window   | 8..15          | 8..15             |
 * | client_max_window_bits     | the client's compressor window   | none or 8..15  | 8..15             |
 */
import { HandshakeError } from "../errors.js";
import { formatExtensionHeader, parseExtensionHeader, type ExtensionParam } from "./header.js";

/** User-facing options (both sides). */
export interface PerMessageDeflateOptions {
  /**
   * Server: answer with `server_no_context_takeover` (the server resets its compressor after
   * each message, so no compression state is kept per connection: a compressor from a small
   * process-wide pool serves every connection, and a published message is compressed once for
   * all subscribers). Default true on the server; `false` keeps one compressor per connection
   * (≈ 256 KiB at the default window and memLevel; better ratio on streams of similar messages)
   * unless the client asks for it (RFC 7692 §7.1.1.1).
   * Client: ask the server for it in the offer. Default false on the client.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: answer with `client_no_context_takeover` (RFC 7692 §7.1.1.2 allows it even if the
   * client did not offer it; browsers, ws and Python websockets comply), so the server keeps no
   * decompressor per connection either. Default true on the server; `false` accepts the client's
   * choice (then ≈ 40 KiB of inflate state per connection at a 15-bit client window).
   * Client: announce in the offer that the client will reset its compressor after each message.
   * Default false on the client.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Server: the largest window the server compresses with (8..15); the answer carries the
   * smaller of this and the client's `server_max_window_bits`, and is omitted when both are 15.
   * Client: when set, offered as `server_max_window_bits` (the server must then answer with at
   * most this, RFC 7692 §7.1.2.1). Default 15 (server) / not offered (client).
   */
  serverMaxWindowBits?: number;
  /**
   * Server: a number 8..15 narrows the client's window to at most this when the client offered
   * `client_max_window_bits` (RFC 7692 §7.1.2.2; a client that did not offer it keeps 15, the
   * offer is still accepted); `false` never narrows it; unset or `true`: accept what the client
   * offers (echo its value). Client: a number is offered as `client_max_window_bits=N` (the
   * client compresses with at most N), `true` or unset offers the bare parameter (the server
   * may pick the window), `false` leaves it out (the server may then not name it).
   */
  clientMaxWindowBits?: number | boolean;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /**
   * zlib compression level 0..9. Default: 1 (`Z_BEST_SPEED`) where this end compresses without
   * context takeover (the server's default), 6 (zlib's default) with it. Each message alone:
   * level 1 costs 13 % less CPU than 6 on ~1 KiB JSON for 1.6 % more bytes, 2.4x less on 16 KiB
   * for 7 % more. With takeover, 6 keeps the ratio takeover is chosen for (3.30 against 2.77 at
   * level 1 on the bench's chat stream). docs/PERFORMANCE.md, "Compression (round 3)".
   */
  level?: number;
  /** zlib memLevel 1..9 (deflate's hash table and buffers). Default 8 (zlib's default). */
  memLevel?: number;
  /** Most zlib jobs running at once, process-wide (a queue shared by all connections). Default 10. */
  concurrencyLimit?: number;
  /**
   * Messages up to this many bytes (for incoming ones: compressed bytes) are compressed or
   * inflated synchronously on the event loop, with a kept zlib context, when nothing else of the
   * connection is waiting for zlib: no thread-pool round trip for small messages. Larger ones go
   * to zlib's thread pool; an inflation begun on the event loop that produces more than 4 × this
   * many bytes carries on there. 0 sends everything to the thread pool. Default 65536.
   */
  syncLimit?: number;
  /**
   * Low-memory mode: in a direction that resets its context after every message
   * (`*_no_context_takeover`), borrow a compressor/decompressor from a small process-wide pool
   * keyed by its parameters instead of keeping one per connection. Default true.
   */
  sharedContexts?: boolean;
  /**
   * Send a message that equals (byte for byte) the message just received, such as an echo or a
   * message forwarded or published unchanged, with the payload the peer compressed instead of
   * compressing it again, when that is valid: both messages without context takeover, the
   * recipient's window 15 bits, the payload ending at a block boundary (checked) and smaller
   * than the message. Saves the whole deflate cost of relayed messages. Default true.
   */
  relay?: boolean;
}

/** The parameters in force on one connection after negotiation. */
export interface DeflateParams {
  /** The server resets its compressor after each message (RFC 7692 §7.1.1.1). */
  serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message (RFC 7692 §7.1.1.2). */
  clientNoContextTakeover: boolean;
  /** The largest LZ77 window the server compresses with, as a power of two, 8..15 (RFC 7692 §7.1.2.1). */
  serverMaxWindowBits: number;
  /** The largest LZ77 window the client compresses with, as a power of two, 8..15 (RFC 7692 §7.1.2.2). */
  clientMaxWindowBits: number;
}

/** The registered extension name (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS = "client_max_window_bits";

/** RFC 7692 §7.1.2: without the parameter, a window of 2^15 bytes (32 KiB) may be used. */
const DEFAULT_WINDOW_BITS = 15;
const MIN_WINDOW_BITS = 8;

/** One permessage-deflate element, its parameters read and checked. */
interface ReadParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** Undefined when absent. */
  serverMaxWindowBits: number | undefined;
  /** Undefined when absent, true when present without a value. */
  clientMaxWindowBits: number | true | undefined;
}

/**
 * RFC 7692 §7.1.2.1 / §7.1.2.2: a window-bits value is a decimal integer without leading zeroes
 * from 8 to 15. Returns the number, or null for anything else ("08", "7", "16", "abc", no value).
 * A quoted value counts once unquoted (RFC 6455 §9.1), which the header parser already did.
 */
function windowBitsValue(value: string | true): number | null {
  if (value === true) return null;
  switch (value) {
    case "8":
    case "9":
    case "10":
    case "11":
    case "12":
    case "13":
    case "14":
    case "15":
      return Number(value);
    default:
      return null;
  }
}

/**
 * Reads one permessage-deflate element's parameters. Returns null (with the reason) on an unknown
 * parameter, a repeated one, a value where none is allowed, or a bad value (RFC 7692 §7.1: such
 * an offer is declined; such a response fails the connection). `isResponse` applies the response
 * rule that client_max_window_bits needs a value (RFC 7692 §7.1.2.2).
 */
function readParams(params: readonly ExtensionParam[], isResponse: boolean): ReadParams | string {
  const out: ReadParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  let seenServerNct = false;
  let seenClientNct = false;
  for (const { name, value } of params) {
    switch (name) {
      case SERVER_NO_CONTEXT_TAKEOVER:
        // RFC 7692 §7.1.1.1: no value; RFC 7692 §7.1: a parameter appears at most once.
        if (seenServerNct) return `duplicate ${name}`;
        if (value !== true) return `${name} must have no value`;
        seenServerNct = true;
        out.serverNoContextTakeover = true;
        break;
      case CLIENT_NO_CONTEXT_TAKEOVER:
        // RFC 7692 §7.1.1.2: no value.
        if (seenClientNct) return `duplicate ${name}`;
        if (value !== true) return `${name} must have no value`;
        seenClientNct = true;
        out.clientNoContextTakeover = true;
        break;
      case SERVER_MAX_WINDOW_BITS: {
        // RFC 7692 §7.1.2.1: always with a value 8..15.
        if (out.serverMaxWindowBits !== undefined) return `duplicate ${name}`;
        const bits = windowBitsValue(value);
        if (bits === null) return `invalid ${name} value`;
        out.serverMaxWindowBits = bits;
        break;
      }
      case CLIENT_MAX_WINDOW_BITS: {
        // RFC 7692 §7.1.2.2: optional value 8..15 in an offer, a value required in a response.
        if (out.clientMaxWindowBits !== undefined) return `duplicate ${name}`;
        if (value === true) {
          if (isResponse) return `${name} must have a value in a response`;
          out.clientMaxWindowBits = true;
          break;
        }
        const bits = windowBitsValue(value);
        if (bits === null) return `invalid ${name} value`;
        out.clientMaxWindowBits = bits;
        break;
      }
      default:
        // RFC 7692 §7.1: an unknown parameter declines the offer / fails the response.
        return `unknown parameter ${name}`;
    }
  }
  return out;
}

function isWindowBits(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= MIN_WINDOW_BITS && value <= DEFAULT_WINDOW_BITS;
}

function checkIntegerOption(value: unknown, name: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`perMessageDeflate.${name} must be an integer from ${min} to ${max}`);
  }
}

/**
 * Checks the options once; a mistake in them is a programming error, not the peer's.
 *
 * @throws RangeError naming the first bad option.
 */
export function validatePerMessageDeflateOptions(options: PerMessageDeflateOptions): void {
  if (options.serverMaxWindowBits !== undefined && !isWindowBits(options.serverMaxWindowBits)) {
    throw new RangeError("perMessageDeflate.serverMaxWindowBits must be an integer from 8 to 15");
  }
  const c = options.clientMaxWindowBits;
  if (c !== undefined && typeof c !== "boolean" && !isWindowBits(c)) {
    throw new RangeError("perMessageDeflate.clientMaxWindowBits must be a boolean or an integer from 8 to 15");
  }
  checkIntegerOption(options.threshold, "threshold", 0, Number.MAX_SAFE_INTEGER);
  checkIntegerOption(options.level, "level", -1, 9);
  checkIntegerOption(options.memLevel, "memLevel", 1, 9);
  checkIntegerOption(options.concurrencyLimit, "concurrencyLimit", 1, 1 << 20);
  checkIntegerOption(options.syncLimit, "syncLimit", 0, 1 << 30);
}

/**
 * The server's answer to one readable offer. Every parameter a client can ask for can be
 * honoured (a smaller window is always possible), so only unreadable offers are declined.
 */
function acceptOffer(offer: ReadParams, options: PerMessageDeflateOptions): { params: DeflateParams; response: string } {
  const answer: ExtensionParam[] = [];

  // RFC 7692 §7.1.1.1: accepting an offer with server_no_context_takeover means answering with
  // it; the server MAY also add it unasked, and does unless told not to (no per-connection state).
  const serverNoContextTakeover = offer.serverNoContextTakeover || options.serverNoContextTakeover !== false;
  if (serverNoContextTakeover) answer.push({ name: SERVER_NO_CONTEXT_TAKEOVER, value: true });

  // RFC 7692 §7.1.1.2: the server MAY answer with client_no_context_takeover, offered or not,
  // and does unless told not to: this side then keeps no inflate context between messages.
  const clientNoContextTakeover = offer.clientNoContextTakeover || options.clientNoContextTakeover !== false;
  if (clientNoContextTakeover) answer.push({ name: CLIENT_NO_CONTEXT_TAKEOVER, value: true });

  // RFC 7692 §7.1.2.1: an offered server_max_window_bits is accepted by answering with the same
  // or a smaller value; the server MAY also name its window unasked.
  const serverLimit = options.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS;
  const serverMaxWindowBits = offer.serverMaxWindowBits === undefined ? serverLimit : Math.min(serverLimit, offer.serverMaxWindowBits);
  if (offer.serverMaxWindowBits !== undefined || serverMaxWindowBits < DEFAULT_WINDOW_BITS) {
    answer.push({ name: SERVER_MAX_WINDOW_BITS, value: String(serverMaxWindowBits) });
  }

  // RFC 7692 §7.1.2.2: client_max_window_bits may be answered only if offered, with a value no
  // larger than the offered one. Unanswered, the client may use up to 15 bits, whatever it offered.
  let clientMaxWindowBits = DEFAULT_WINDOW_BITS;
  const clientOption = options.clientMaxWindowBits;
  if (offer.clientMaxWindowBits !== undefined && clientOption !== false) {
    const offered = offer.clientMaxWindowBits === true ? DEFAULT_WINDOW_BITS : offer.clientMaxWindowBits;
    let chosen: number | undefined;
    if (typeof clientOption === "number") chosen = Math.min(clientOption, offered);
    else if (offer.clientMaxWindowBits !== true) chosen = offered; // echo the client's value
    if (chosen !== undefined) {
      clientMaxWindowBits = chosen;
      answer.push({ name: CLIENT_MAX_WINDOW_BITS, value: String(chosen) });
    }
  }

  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    response: formatExtensionHeader([{ name: PERMESSAGE_DEFLATE, params: answer }]),
  };
}

/**
 * Server: choose the first acceptable permessage-deflate offer from the client's
 * `Sec-WebSocket-Extensions` value(s) (joined with `", "`). Offers of other extensions are
 * skipped; an offer with an unknown, repeated or badly-valued parameter is declined and the next
 * one tried (RFC 7692 §5, §7.1). A malformed header declines everything.
 *
 * @returns the parameters in force and the response header value, or null to decline (then the
 * response carries no permessage-deflate and messages go uncompressed).
 * @throws RangeError if `options` are invalid.
 */
export function negotiateServer(
  header: string | undefined,
  options: PerMessageDeflateOptions,
): { params: DeflateParams; response: string } | null {
  validatePerMessageDeflateOptions(options);
  if (header === undefined) return null;
  const offers = parseExtensionHeader(header);
  if (offers === null) return null;
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const read = readParams(offer.params, false);
    if (typeof read === "string") continue; // RFC 7692 §5: decline this offer, try the next.
    return acceptOffer(read, options);
  }
  return null;
}

/**
 * Client: the permessage-deflate offer for the request's `Sec-WebSocket-Extensions`.
 * Default: `permessage-deflate; client_max_window_bits` (the bare parameter lets the server
 * pick a smaller client window, RFC 7692 §7.1.2.2, as browsers do).
 *
 * @throws RangeError if `options` are invalid.
 */
export function clientOffer(options: PerMessageDeflateOptions): string {
  validatePerMessageDeflateOptions(options);
  const params: ExtensionParam[] = [];
  // RFC 7692 §7.1.1.1, §7.1.1.2.
  if (options.serverNoContextTakeover === true) params.push({ name: SERVER_NO_CONTEXT_TAKEOVER, value: true });
  if (options.clientNoContextTakeover === true) params.push({ name: CLIENT_NO_CONTEXT_TAKEOVER, value: true });
  // RFC 7692 §7.1.2.1.
  if (options.serverMaxWindowBits !== undefined) params.push({ name: SERVER_MAX_WINDOW_BITS, value: String(options.serverMaxWindowBits) });
  // RFC 7692 §7.1.2.2.
  const c = options.clientMaxWindowBits;
  if (typeof c === "number") params.push({ name: CLIENT_MAX_WINDOW_BITS, value: String(c) });
  else if (c !== false) params.push({ name: CLIENT_MAX_WINDOW_BITS, value: true });
  return formatExtensionHeader([{ name: PERMESSAGE_DEFLATE, params }]);
}

/** Client-side handshake failures carry the status of the response being checked: 101. */
function fail(message: string): never {
  throw new HandshakeError(101, `invalid permessage-deflate response: ${message}`);
}

/**
 * Client: validate the server's answer (the full `Sec-WebSocket-Extensions` response value) to
 * the offer {@link clientOffer} made from the same `options`.
 *
 * @returns the parameters in force, or null if the server accepted no extension (no header, or
 * an empty one).
 * @throws HandshakeError (status 101) if the answer must fail the connection (RFC 6455 §4.1,
 * RFC 7692 §7.1): malformed, an extension that was not offered, several extensions, an unknown,
 * repeated or badly-valued parameter, client_max_window_bits when it was not offered or larger
 * than offered, server_max_window_bits missing or larger than requested, or a requested
 * server_no_context_takeover missing.
 * @throws RangeError if `options` are invalid.
 */
export function acceptClientResponse(header: string | undefined, options: PerMessageDeflateOptions): DeflateParams | null {
  validatePerMessageDeflateOptions(options);
  if (header === undefined || isBlank(header)) return null;
  const answers = parseExtensionHeader(header);
  if (answers === null) fail("malformed Sec-WebSocket-Extensions");
  // RFC 6455 §4.1 step 5: an extension the client did not offer fails the connection; the only
  // one offered is permessage-deflate, and it can be accepted once (RFC 7692 §5).
  for (const answer of answers) {
    if (answer.name !== PERMESSAGE_DEFLATE) fail(`the server selected an extension that was not offered: ${answer.name}`);
  }
  if (answers.length > 1) fail("the server accepted permessage-deflate more than once");
  const read = readParams(answers[0].params, true);
  if (typeof read === "string") fail(read);

  // RFC 7692 §7.1.1.1: a requested server_no_context_takeover is accepted by echoing it; the
  // server MAY add it unasked.
  if (options.serverNoContextTakeover === true && !read.serverNoContextTakeover) fail("server_no_context_takeover was requested but not accepted");
  // RFC 7692 §7.1.1.2: the server MAY add client_no_context_takeover; the client then complies.

  // RFC 7692 §7.1.2.1: an offered server_max_window_bits is accepted with the same or a smaller
  // value; unasked, the server MAY still name one (a smaller window is always fine to inflate).
  const requestedServerBits = options.serverMaxWindowBits;
  if (requestedServerBits !== undefined) {
    if (read.serverMaxWindowBits === undefined) fail("server_max_window_bits was requested but not accepted");
    if (read.serverMaxWindowBits > requestedServerBits) fail("server_max_window_bits is larger than requested");
  }

  // RFC 7692 §7.1.2.2: client_max_window_bits in the response is an error if it was not offered
  // or is larger than the offered value. Without it the client may use up to 15 bits; a client
  // that offered a value keeps to it anyway.
  const offeredClient = options.clientMaxWindowBits;
  let clientMaxWindowBits = typeof offeredClient === "number" ? offeredClient : DEFAULT_WINDOW_BITS;
  if (read.clientMaxWindowBits !== undefined) {
    if (offeredClient === false) fail("client_max_window_bits was not offered");
    const bits = read.clientMaxWindowBits as number; // readParams requires a value in a response
    if (bits > clientMaxWindowBits) fail("client_max_window_bits is larger than offered");
    clientMaxWindowBits = bits;
  }

  return {
    serverNoContextTakeover: read.serverNoContextTakeover,
    clientNoContextTakeover: read.clientNoContextTakeover,
    serverMaxWindowBits: read.serverMaxWindowBits ?? DEFAULT_WINDOW_BITS,
    clientMaxWindowBits,
  };
}

function isBlank(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}
