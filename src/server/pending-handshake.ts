/**
 * One opening handshake waiting for the server's decision, whatever HTTP version carries it:
 * the one acceptance path (server.ts) checks limits, origins, the subprotocol and the
 * `upgrade` hook against this interface, and only `validate`, `reject` and `accept` differ
 * between an HTTP/1.1 upgrade (here) and an RFC 8441 stream (http2.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { HandshakeError } from "../protocol/errors.js";
import { acceptResponse, rejectResponse, validateUpgradeRequest, type WebSocketOffer } from "../protocol/handshake.js";
import type { Http2UpgradeRequest } from "./http2-request.js";

/** The request the `upgrade` hook and the `connection` event see: HTTP/1.1 or HTTP/2. */
export type UpgradeRequestMessage = IncomingMessage | Http2UpgradeRequest;

/** A checked offer, with where it is for. */
export interface ValidatedOffer extends WebSocketOffer {
  /** The target host (`Host`, or `:authority` over HTTP/2). */
  authority: string;
  /** The request target with its query (`req.url`, or `:path` over HTTP/2). */
  path: string;
}

/** Where a peer's address is read from (a net.Socket, or an HTTP/2 session's socket). */
export interface PeerAddress {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
}

/** A handshake in progress, as the acceptance path sees it. */
export interface PendingHandshake {
  /** The request, as the `upgrade` hook and the `connection` event receive it. */
  readonly req: UpgradeRequestMessage;
  /** Header fields received (pseudo-headers excluded), for `maxHeaderCount`. */
  readonly headerCount: number;
  /** Whether the peer can still be answered. */
  readonly answerable: boolean;
  /** Runs the HTTP version's request checks; throws a `HandshakeError` with the status to answer. */
  validate(): ValidatedOffer;
  /** Answers with the error's HTTP status and ends the exchange (the peer gets `lingerMs` to go). */
  reject(error: HandshakeError, lingerMs: number): void;
  /** Sends the accepting response; returns the byte stream the WebSocket runs on. */
  accept(protocol: string, extensions: string): Duplex;
  /** Bytes that arrived with the handshake, to process after `open`. */
  readonly head: Buffer;
  /** Where `ws.remoteAddress` comes from. */
  readonly peer: PeerAddress;
}

function swallow(): void {}

/** Writes an HTTP/1.1 error response and closes the socket (destroyed if the peer lingers). */
export function abortHandshake(socket: Duplex, error: HandshakeError, lingerMs: number): void {
  if (socket.destroyed) return;
  socket.on("error", swallow);
  if (socket.writable) {
    socket.end(rejectResponse(error.status, error.message, error.headers));
    setTimeout(() => socket.destroy(), lingerMs).unref();
  } else {
    socket.destroy();
  }
}

/** An RFC 6455 §4 upgrade on an HTTP/1.1 connection. */
export class Http1Handshake implements PendingHandshake {
  readonly req: IncomingMessage;
  readonly head: Buffer;
  private readonly socket: Duplex;
  private key = "";

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer) {
    this.req = req;
    this.socket = socket;
    this.head = head;
    socket.on("error", swallow);
  }

  get headerCount(): number {
    return this.req.rawHeaders.length / 2;
  }

  get answerable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  get peer(): PeerAddress {
    // `socket.remoteAddress` would cache getpeername's answer on the socket (an object and a
    // property it keeps while it lives); asked of the handle, the answer is dropped once the
    // ServerWebSocket has copied what it keeps. Any other stream answers itself.
    const s = this.socket as Duplex & { _handle?: { getpeername?: (out: { address?: string; port?: number; family?: string }) => number } | null; _peername?: unknown };
    const handle = s._handle;
    if (s._peername === undefined && handle != null && typeof handle.getpeername === "function") {
      const out: { address?: string; port?: number; family?: string } = {};
      if (handle.getpeername(out) === 0 && typeof out.address === "string") return { remoteAddress: out.address, remotePort: out.port, remoteFamily: out.family };
    }
    return this.socket as PeerAddress;
  }

  validate(): ValidatedOffer {
    const req = this.req;
    const request = validateUpgradeRequest(req.method, req.httpVersion, req.headers);
    this.key = request.key;
    return { protocols: request.protocols, extensions: request.extensions, origin: request.origin, authority: req.headers.host ?? "", path: req.url ?? "/" };
  }

  reject(error: HandshakeError, lingerMs: number): void {
    abortHandshake(this.socket, error, lingerMs);
  }

  accept(protocol: string, extensions: string): Duplex {
    const socket = this.socket;
    socket.removeListener("error", swallow);
    const s = socket as Duplex & { setNoDelay?: (v: boolean) => void; setTimeout?: (ms: number) => void };
    s.setNoDelay?.(true);
    s.setTimeout?.(0);
    // RFC 6455 §4.2.2 step 5: 101 with Sec-WebSocket-Accept.
    socket.write(acceptResponse(this.key, protocol || undefined, extensions || undefined));
    return socket;
  }
}
