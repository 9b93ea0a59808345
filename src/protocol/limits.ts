/**
 * The limits and times both roles share, in one place below the client and the server (the
 * client must not import the server). Sizes in bytes, times in milliseconds.
 */
import { DEFAULT_MAX_FRAGMENTS } from "./receiver.js";

/** Shared defaults of the client and the server. */
export const SHARED_DEFAULTS: {
  /** Largest incoming message, as the application receives it (after inflation): 16 MiB. */
  readonly maxPayload: number;
  /** Most frames per incoming message: 131,072. */
  readonly maxFragments: number;
  /** Time for the opening handshake: 10 s. */
  readonly handshakeTimeout: number;
  /** Time for the peer to finish the close handshake: 5 s. */
  readonly closeTimeout: number;
} = Object.freeze({
  maxPayload: 16 * 1024 * 1024,
  maxFragments: DEFAULT_MAX_FRAGMENTS,
  handshakeTimeout: 10_000,
  closeTimeout: 5_000,
});
