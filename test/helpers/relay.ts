/**
 * A TCP relay on 127.0.0.1:0 to 127.0.0.1:`port`, for fault tests: cut every connection
 * through it at once (a network blip), or hold new connections until released.
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** A running relay; see {@link startRelay}. */
export interface Relay {
  /** The relay's port. */
  readonly port: number;
  /** Destroys every connection through the relay now (both sides see a reset/close). */
  cut(): void;
  /** New connections wait (accepted, not forwarded) until `release`. */
  hold(): void;
  release(): void;
  /** Connections currently relayed. */
  readonly size: number;
  close(): Promise<void>;
}

/** Starts a relay to `port`, closed when `t` ends. */
export async function startRelay(port: number, t?: TestContext): Promise<Relay> {
  const pairs = new Set<Socket>();
  const sockets = new Set<Socket>();
  let held: Socket[] | null = null;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  };
  const forward = (client: Socket): void => {
    if (client.destroyed) return;
    const upstream = connect(port, "127.0.0.1");
    track(upstream);
    pairs.add(client);
    upstream.on("close", () => client.destroy());
    client.on("close", () => {
      pairs.delete(client);
      upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    track(client);
    if (held !== null) held.push(client);
    else forward(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const relay: Relay = {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    hold: () => void (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const c of waiting) forward(c);
    },
    get size() {
      return pairs.size;
    },
    close: async () => {
      held = null;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  t?.after(() => relay.close());
  return relay;
}
