/**
 * Raw clients for the conformance suite, destroyed at the end of the test that opened them,
 * over TCP (an HTTP/1.1 upgrade) or over an HTTP/2 stream (RFC 8441): the framing and close
 * cases run over both, since the frames must not depend on what carries them.
 */
import type { Duplex } from "node:stream";
import type { TestContext } from "node:test";
import { connectRaw, type ConnectRawOptions, type RawClient } from "../helpers/raw-client.js";
import { connectRawH2 } from "../helpers/raw-h2-client.js";
import type { EchoServerOptions } from "../helpers/echo-server.js";

/** What carries the WebSocket: a TCP connection, or an extended CONNECT stream over h2c. */
export type ConformanceTransport = "tcp" | "h2";

/** Every transport the transport-independent cases run over. */
export const TRANSPORTS: readonly ConformanceTransport[] = ["tcp", "h2"];

/** Echo-server options for `transport` (HTTP/2 on the listener for "h2"). */
export function serverOptionsFor(transport: ConformanceTransport, options: EchoServerOptions = {}): EchoServerOptions {
  return transport === "h2" ? { ...options, http2: true } : options;
}

/** Connects a raw client (test/helpers/raw-client.ts) to 127.0.0.1:`port`; destroyed in `t.after`. */
export async function openClient(t: TestContext, port: number, options: ConnectRawOptions = {}): Promise<RawClient> {
  const client = await connectRaw(port, options);
  t.after(() => client.destroy());
  return client;
}

/** Like {@link openClient}, over `transport` (its own HTTP/2 connection for "h2"). */
export async function openClientOver(transport: ConformanceTransport, t: TestContext, port: number, options: ConnectRawOptions = {}): Promise<RawClient<Duplex>> {
  if (transport === "tcp") return openClient(t, port, options);
  const client = await connectRawH2(port, { path: options.path, timeoutMs: options.timeoutMs });
  t.after(() => client.destroy());
  return client;
}
