/** Raw clients for the conformance suite, destroyed at the end of the test that opened them. */
import type { TestContext } from "node:test";
import { connectRaw, type ConnectRawOptions, type RawClient } from "../helpers/raw-client.js";

/** Connects a raw client (test/helpers/raw-client.ts) to 127.0.0.1:`port`; destroyed in `t.after`. */
export async function openClient(t: TestContext, port: number, options: ConnectRawOptions = {}): Promise<RawClient> {
  const client = await connectRaw(port, options);
  t.after(() => client.destroy());
  return client;
}
