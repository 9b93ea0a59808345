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

/** Resolves the server option; null when compression is off. */
export function negotiateDeflate(option: boolean | PerMessageDeflateOptions | undefined, maxPayload = 0): DeflateSetup | null {
  if (option === undefined || option === false) return null;
  const options: PerMessageDeflateOptions = option === true ? {} : option;
  // Checked once here, so a bad option fails at construction, not at each handshake.
  validatePerMessageDeflateOptions(options);
  return {
    options,
    negotiate(header) {
      if (header === undefined) return null;
      const result = negotiateServer(header, options);
      if (result === null) return null;
      const codec = new PerMessageDeflate(result.params, true, options, maxPayload);
      return { codec, params: result.params, response: result.response };
    },
  };
}
