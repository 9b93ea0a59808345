/**
 * Port numbers for components that must be told their port up front (redis-server).
 *
 * Servers under our control listen on port 0 and read the port back instead: a port found
 * here is free when returned, but another process could take it before the component binds
 * it, so callers retry with a new port when the bind fails (see redis.ts).
 */
import { createServer, type AddressInfo } from "node:net";

/**
 * Returns a TCP port that is free on `host` right now (listens on port 0, reads the port,
 * closes).
 *
 * @example const port = await freePort(); // e.g. 40123, on 127.0.0.1
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => resolve());
  });
  const address = server.address() as AddressInfo | string | null;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error(`freePort: no TCP address for a server on ${host}`);
  }
  return address.port;
}
