/**
 * Server-side permessage-deflate set-up: resolves the `perMessageDeflate` option once per
 * server, then negotiates each handshake's offer (RFC 7692 §5) and creates the codec.
 */
import {
  negotiateServer,
  validatePerMessageDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../transport/permessage-deflate.js";
import type { MessageCodec } from "../transport/transport.js";

/** The result of negotiating one handshake. */
export interface NegotiatedDeflate {
  /** The codec for this connection. */
  codec: MessageCodec;
  /** The parameters in force on this connection. */
  params: DeflateParams;
  /** The `Sec-WebSocket-Extensions` response value. */
  response: string;
}

/** permessage-deflate as configured on one server. */
export interface DeflateSetup {
  /** The options in force (validated). */
  readonly options: PerMessageDeflateOptions;
  /** Negotiates a client's offer; null when declined or none was offered. */
  negotiate(header: string | undefined): NegotiatedDeflate | null;
}

/** Distinct offers whose answers are kept per server. */
const ANSWER_CACHE_SIZE = 64;

/** Resolves the server option; null when compression is off. */
export function negotiateDeflate(option: boolean | PerMessageDeflateOptions | undefined, maxPayload = 0): DeflateSetup | null {
  if (option === undefined || option === false) return null;
  const options: PerMessageDeflateOptions = option === true ? {} : option;
  // Checked once here, so a bad option fails at construction, not at each handshake.
  validatePerMessageDeflateOptions(options);
  // Clients send few distinct offers (every browser the same one): each answer is worked out
  // once and shared (frozen) by the connections that got it. Bounded: a client inventing offers
  // only empties the cache.
  const answers = new Map<string, { params: DeflateParams; response: string } | null>();
  return {
    options,
    negotiate(header) {
      if (header === undefined) return null;
      let result = answers.get(header);
      if (result === undefined) {
        result = negotiateServer(header, options);
        if (result !== null) result = { params: Object.freeze(result.params), response: result.response };
        if (answers.size >= ANSWER_CACHE_SIZE) answers.clear();
        answers.set(header, result);
      }
      if (result === null) return null;
      const codec = new PerMessageDeflate(result.params, true, options, maxPayload);
      return { codec, params: result.params, response: result.response };
    },
  };
}
