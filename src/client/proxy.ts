/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6) for the client: which proxy applies to a URL, and a
 * tunnel through it.
 */
import { request } from "node:http";
import type { Socket } from "node:net";

/** An IPv6 literal without its brackets (`[::1]` → `::1`); other hosts unchanged. */
function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The host of a NO_PROXY entry: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function noProxyHost(entry: string): string {
  if (entry.startsWith("[")) {
    const end = entry.indexOf("]");
    return end === -1 ? entry : entry.slice(1, end);
  }
  // More than one colon: a bare IPv6 address, which has no port.
  return entry.indexOf(":") !== entry.lastIndexOf(":") ? entry : entry.replace(/:\d+$/, "");
}

/** Resolves the `proxy` option for `target`: a proxy URL, or null for a direct connection. */
export function proxyFor(option: string | undefined, target: URL): URL | null {
  if (option === undefined || option === "") return null;
  if (option !== "env") return new URL(option);
  const env = process.env;
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? "";
  const host = unbracket(target.hostname.toLowerCase());
  for (const raw of noProxy.split(",")) {
    const entry = noProxyHost(raw.trim().toLowerCase());
    if (entry === "") continue;
    if (entry === "*") return null;
    const bare = entry.startsWith(".") ? entry.slice(1) : entry;
    if (host === bare || host.endsWith("." + bare)) return null;
  }
  const value = target.protocol === "wss:" ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  return value ? new URL(value) : null;
}

/**
 * The authority form of a CONNECT target (RFC 9110 §9.3.6, §7.2): `host:port`, with an IPv6
 * address as an IP-literal in brackets (RFC 3986 §3.2.2), e.g. `[::1]:8080`.
 */
export function authority(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Opens a tunnel to `host:port` through `proxy` (`host` without brackets); resolves with the
 * raw socket.
 */
export function tunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const target = authority(host, port);
    // The Host header of a CONNECT carries the same authority as its request-target.
    const headers: Record<string, string> = { Host: target };
    if (proxy.username !== "") {
      const auth = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers["Proxy-Authorization"] = `Basic ${Buffer.from(auth).toString("base64")}`;
    }
    const req = request({
      host: proxy.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.port || 80),
      method: "CONNECT",
      path: target,
      headers,
      agent: false,
      timeout: timeoutMs,
    });
    req.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy refused the tunnel: ${res.statusCode}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once("timeout", () => req.destroy(new Error("proxy connection timed out")));
    req.once("error", reject);
    req.end();
  });
}
