/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6) for the client: which proxy applies to a URL, and a
 * tunnel through it.
 */
import { request } from "node:http";
import type { Socket } from "node:net";

/** Resolves the `proxy` option for `target`: a proxy URL, or null for a direct connection. */
export function proxyFor(option: string | undefined, target: URL): URL | null {
  if (option === undefined || option === "") return null;
  if (option !== "env") return new URL(option);
  const env = process.env;
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? "";
  const host = target.hostname.toLowerCase();
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, "");
    if (entry === "") continue;
    if (entry === "*") return null;
    const bare = entry.startsWith(".") ? entry.slice(1) : entry;
    if (host === bare || host.endsWith("." + bare)) return null;
  }
  const value = target.protocol === "wss:" ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  return value ? new URL(value) : null;
}

/** Opens a tunnel to `host:port` through `proxy`; resolves with the raw socket. */
export function tunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: `${host}:${port}` };
    if (proxy.username !== "") {
      const auth = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers["Proxy-Authorization"] = `Basic ${Buffer.from(auth).toString("base64")}`;
    }
    const req = request({
      host: proxy.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.port || 80),
      method: "CONNECT",
      path: `${host.includes(":") ? `[${host}]` : host}:${port}`,
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
