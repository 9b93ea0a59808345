/** TEMPORARY until the codec lands. */
import type { MessageCodec } from "../transport/transport.js";
export interface NegotiatedDeflate { codec: MessageCodec; response: string }
export interface DeflateSetup { negotiate(header: string | undefined): NegotiatedDeflate | null }
export function negotiateDeflate(_option: unknown, _maxPayload = 0): DeflateSetup | null { return null; }
