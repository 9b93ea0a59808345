/**
 * Handshake admission for a {@link WebSocketServer}: the one acceptance path for HTTP/1.1
 * upgrades and HTTP/2 extended CONNECT streams alike (shutdown, header count, the version's
 * checks, origins, capacity, the subprotocol, the `upgrade` hook with its timeout), and the
 * HTTP refusals, counted by reason.
 */
import { HandshakeError } from "../protocol/errors.js";
import type { UpgradeInfo, WebSocketServerOptions } from "./options.js";
import type { PendingHandshake, UpgradeRequestMessage, ValidatedOffer } from "./pending-handshake.js";
import type { WebSocketServer } from "./server.js";
import type { HandshakeRejection } from "./stats.js";
import { TOPICS_PROTOCOL } from "./topics-protocol.js";

/** What admission needs from its server beyond its public and internal members. */
export interface AdmissionHooks<T> {
  /** Whether the server is shutting down (new handshakes get 503). */
  closing(): boolean;
  /** Accepts an admitted handshake and opens its connection. */
  complete(h: PendingHandshake, request: ValidatedOffer, protocol: string, data: T): void;
}

/** Admits or refuses the opening handshakes of one {@link WebSocketServer}. */
export class HandshakeAdmission<T> {
  /** Handshakes waiting on the `upgrade` hook (they count toward `maxConnections`). */
  private pending = 0;

  constructor(
    private readonly server: WebSocketServer<T>,
    private readonly userOptions: WebSocketServerOptions<T>,
    private readonly hooks: AdmissionHooks<T>,
  ) {}

  /**
   * The one acceptance path, for HTTP/1.1 upgrades and HTTP/2 streams alike: shutdown,
   * header count, the version's checks, origins, capacity, the subprotocol and the `upgrade`
   * hook, in that order; then the connection.
   */
  admit(h: PendingHandshake): void {
    if (this.hooks.closing()) return this.reject(h, new HandshakeError(503, "server is shutting down"), "shutdown");
    // A header count limit (node:http only truncates past its maxHeadersCount, 2000).
    if (h.headerCount > this.server.options.maxHeaderCount) {
      return this.reject(h, new HandshakeError(431, "too many request headers"), "headers");
    }
    let request: ValidatedOffer;
    try {
      request = h.validate();
    } catch (err) {
      return this.reject(h, err as HandshakeError, "invalid");
    }
    // RFC 6455 §10.2: the server may refuse origins it does not trust (403).
    const origins = this.userOptions.origins;
    if (origins !== undefined) {
      const origin = request.origin?.toLowerCase();
      if (origin === undefined || !origins.some((o) => o.toLowerCase() === origin)) {
        return this.reject(h, new HandshakeError(403, "origin not allowed"), "origin");
      }
    }
    if (this.server.clients.size + this.pending >= this.server.options.maxConnections) {
      return this.reject(h, new HandshakeError(503, "too many connections"), "capacity");
    }
    let protocol: string;
    try {
      protocol = this.selectProtocol(request.protocols, h.req);
    } catch (err) {
      // A throwing `protocols` function rejects this handshake only (500), like the hook.
      if (this.server.listenerCount("error") > 0) this.server.emit("error", err);
      return h.reject(new HandshakeError(500, "internal error during the handshake"), this.server.options.closeTimeout);
    }
    const hook = this.userOptions.upgrade;
    if (hook === undefined) {
      this.hooks.complete(h, request, protocol, undefined as T);
      return;
    }
    if (this.pending >= this.server.options.maxPendingHandshakes) {
      return this.reject(h, new HandshakeError(503, "too many pending handshakes"), "capacity");
    }
    this.pending++;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.pending--;
      this.reject(h, new HandshakeError(408, "handshake timeout"), "timeout");
    }, this.server.options.handshakeTimeout);
    const info: UpgradeInfo = {
      protocols: request.protocols,
      origin: request.origin,
      protocol,
      extensions: request.extensions ?? "",
      authority: request.authority,
      path: request.path,
      http2: h.req.httpVersion === "2.0",
    };
    let result: T | Promise<T>;
    try {
      result = hook(h.req, info);
    } catch (err) {
      result = Promise.reject(err);
    }
    Promise.resolve(result).then(
      (data) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending--;
        if (!h.answerable) return;
        if (this.hooks.closing()) return this.reject(h, new HandshakeError(503, "server is shutting down"), "shutdown");
        this.hooks.complete(h, request, info.protocol, data);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending--;
        if (err instanceof HandshakeError) return this.reject(h, err, "hook");
        if (this.server.listenerCount("error") > 0) this.server.emit("error", err);
        this.reject(h, new HandshakeError(500, "internal error during the handshake"), "error");
      },
    );
  }

  /** Refuses a handshake with an HTTP error response, counted by reason in `WebSocketServer.stats`. */
  private reject(h: PendingHandshake, error: HandshakeError, reason: HandshakeRejection): void {
    this.server.counters.rejected(reason);
    h.reject(error, this.server.options.closeTimeout);
  }

  private selectProtocol(offered: string[], req: UpgradeRequestMessage): string {
    const chosen = this.selectUserProtocol(offered, req);
    // With topics on, a client offering wsx.topics.v1 gets it unless the app chose another.
    // (Not with a `messageStream` handler: wsx.topics.v1 frames are read whole.)
    if (chosen === "" && this.server.durable !== null && this.server.handlers.messageStream === undefined && offered.includes(TOPICS_PROTOCOL)) return TOPICS_PROTOCOL;
    return chosen;
  }

  private selectUserProtocol(offered: string[], req: UpgradeRequestMessage): string {
    const p = this.userOptions.protocols;
    if (p === undefined || offered.length === 0) return "";
    if (typeof p === "function") {
      const chosen = p(offered, req);
      // RFC 6455 §4.2.2: the server may only pick a protocol the client offered.
      return chosen && offered.includes(chosen) ? chosen : "";
    }
    for (const o of offered) if (p.includes(o)) return o;
    return "";
  }
}
