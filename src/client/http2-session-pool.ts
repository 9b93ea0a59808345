/**
 * The client's HTTP/2 connections (RFC 9113), shared by every WebSocket to the same origin:
 * one session per origin and TLS options, opened on demand, used once the server's SETTINGS
 * say it accepts extended CONNECT (RFC 8441 §3), closed when its last WebSocket is gone.
 * An origin that does not (SETTINGS without ENABLE_CONNECT_PROTOCOL, ALPN choosing
 * http/1.1, a cleartext server that answers the preface with HTTP/1.1) gets an "HTTP/1.1"
 * verdict, remembered for a bounded time in a bounded map.
 */
import { createHash } from "node:crypto";
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import type { Duplex } from "node:stream";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { ClientTlsOptions } from "./opening-handshake.js";

/** How long an origin's "no RFC 8441 here" verdict is remembered, in ms. */
export const FALLBACK_VERDICT_MS = 60_000;
/** Most origins whose verdict is remembered; the oldest is forgotten first. */
export const MAX_FALLBACK_VERDICTS = 1024;
/** How long a session with no WebSocket left stays open for the next one, in ms (it never keeps the process alive). */
export const IDLE_SESSION_MS = 1000;

/** What {@link acquireSession} found for an origin. */
export type Acquired =
  /** An HTTP/2 session that accepts extended CONNECT, with one stream slot reserved: call `release` once when the stream closes or is never opened. */
  | { kind: "h2"; session: ClientHttp2Session; release: () => void }
  /** Use HTTP/1.1; `socket` is a TLS connection whose ALPN chose http/1.1, ready for the request (or undefined: connect anew). */
  | { kind: "h1"; socket?: Duplex };

/** An origin and the TLS options that together identify a shareable session. */
export interface Origin {
  secure: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  tls: ClientTlsOptions;
}

/** One HTTP/2 session of the pool. */
class PooledSession {
  readonly session: ClientHttp2Session;
  /** Streams open or reserved on it. */
  streams = 0;
  /** False once it may take no new stream (GOAWAY, closing, error, or no RFC 8441 support). */
  usable = true;
  /** Settles once the server's first SETTINGS arrived ("h2") or the session proved not to be HTTP/2 with extended CONNECT. */
  readonly ready: Promise<"h2" | "h1">;
  /** Whether `ready` has settled. */
  #decided = false;
  #idleTimer: NodeJS.Timeout | null = null;
  /** The session's last error, to explain a failure before SETTINGS. */
  #error: Error | null = null;

  constructor(
    readonly key: string,
    session: ClientHttp2Session,
    /** Whether the transport connected (so a failure before SETTINGS means "not HTTP/2", not "unreachable"). */
    connected: () => boolean,
  ) {
    this.session = session;
    // Never crash on a session error: the affected streams are destroyed with it and their
    // WebSockets close (1006); a session that failed before SETTINGS settles `ready` below.
    session.on("error", (err: Error) => (this.#error = err));
    session.once("goaway", () => this.retire());
    session.once("close", () => this.retire());
    this.ready = new Promise((resolve, reject) => {
      const onSettings = (): void => {
        session.removeListener("close", onClose);
        // RFC 8441 §3: the server sends SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 to allow it.
        resolve(session.remoteSettings.enableConnectProtocol === true ? "h2" : "h1");
      };
      const onClose = (): void => {
        session.removeListener("remoteSettings", onSettings);
        // Connected, then the peer did not speak HTTP/2 (an HTTP/1.1 server answering the
        // preface with 400): fall back. Never connected: the origin is unreachable.
        if (connected()) resolve("h1");
        else reject(this.#error ?? new Error("the HTTP/2 connection closed before the server's SETTINGS"));
      };
      session.once("remoteSettings", onSettings);
      session.once("close", onClose);
    });
    this.ready.then(
      () => (this.#decided = true),
      () => (this.#decided = true),
    );
  }

  /** Whether one more stream fits under the server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  hasRoom(): boolean {
    const max = this.session.remoteSettings.maxConcurrentStreams;
    return this.usable && (max === undefined || this.streams < max);
  }

  /** Reserves a stream slot; the returned function gives it back (once). */
  reserve(): () => void {
    this.streams++;
    if (this.#idleTimer !== null) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    if (!this.session.destroyed) this.session.ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.streams--;
      if (this.streams === 0) this.idle();
    };
  }

  /** No WebSocket left: let the process exit, and close the session unless one comes soon. */
  private idle(): void {
    if (this.session.destroyed || this.session.closed) return;
    this.session.unref();
    if (!this.usable) {
      this.session.close();
      return;
    }
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.streams === 0) this.retire();
    }, IDLE_SESSION_MS);
    this.#idleTimer.unref();
  }

  /**
   * Takes it out of the pool (GOAWAY, close, idle, no RFC 8441): its streams go on, new
   * WebSockets open another session; it closes (RFC 9113 §6.8 GOAWAY) once they are done.
   */
  retire(): void {
    this.usable = false;
    removeFromPool(this);
    if (this.#idleTimer !== null) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    if (this.streams === 0 && !this.session.closed && !this.session.destroyed) {
      // A session still waiting for the server's SETTINGS (a peer that accepted TCP and says
      // nothing, or never answers the SYN) has nothing to close gracefully.
      if (this.#decided) this.session.close();
      else this.session.destroy();
    }
  }
}

/** Open sessions by key. */
const pool = new Map<string, PooledSession[]>();
/** Origins known not to accept RFC 8441, and until when (ms since the epoch). */
const fallbackVerdicts = new Map<string, number>();

function removeFromPool(entry: PooledSession): void {
  const list = pool.get(entry.key);
  if (list === undefined) return;
  const i = list.indexOf(entry);
  if (i !== -1) list.splice(i, 1);
  if (list.length === 0) pool.delete(entry.key);
}

/** @internal Remembers that `key` speaks no RFC 8441, for {@link FALLBACK_VERDICT_MS}; the map stays bounded. */
export function rememberFallback(key: string): void {
  fallbackVerdicts.delete(key);
  while (fallbackVerdicts.size >= MAX_FALLBACK_VERDICTS) fallbackVerdicts.delete(fallbackVerdicts.keys().next().value as string);
  fallbackVerdicts.set(key, Date.now() + FALLBACK_VERDICT_MS);
}

/** @internal Whether `key` is known (and still remembered) not to speak RFC 8441. */
export function knownFallback(key: string): boolean {
  const until = fallbackVerdicts.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  fallbackVerdicts.delete(key);
  return false;
}

/**
 * The pool key: scheme, host, port and, for TLS, a digest of the TLS options (so sockets
 * with different certificates or trust never share a connection).
 */
export function sessionKey(origin: Origin): string {
  const base = `${origin.secure ? "https" : "http"}://${origin.host.includes(":") ? `[${origin.host}]` : origin.host}:${origin.port}`;
  if (!origin.secure) return base;
  const hash = createHash("sha256");
  const t = origin.tls;
  for (const [name, value] of [["ca", t.ca], ["cert", t.cert], ["key", t.key], ["pfx", t.pfx], ["passphrase", t.passphrase], ["servername", t.servername], ["reject", t.rejectUnauthorized]] as const) {
    hash.update(`|${name}:`);
    for (const v of Array.isArray(value) ? value : [value]) hash.update(v === undefined ? "-" : typeof v === "boolean" ? String(v) : `${v.length}:`).update(typeof v === "string" || Buffer.isBuffer(v) ? v : "");
  }
  return `${base}|${hash.digest("base64")}`;
}

/**
 * Finds or opens an HTTP/2 session to `origin` that accepts extended CONNECT, and reserves a
 * stream on it; or says to use HTTP/1.1. Rejects if the origin cannot be reached, or with
 * the signal's reason when it aborts (the caller gave up: its reservation is given back, so
 * a session nobody waits for any more is dropped).
 */
export async function acquireSession(origin: Origin, timeoutMs: number, signal: AbortSignal): Promise<Acquired> {
  const key = sessionKey(origin);
  for (;;) {
    if (knownFallback(key)) return { kind: "h1" };
    let entry = (pool.get(key) ?? []).find((e) => e.hasRoom());
    if (entry === undefined) {
      const opened = await abortable(openSession(key, origin, timeoutMs), signal);
      if (!(opened instanceof PooledSession)) {
        // ALPN chose http/1.1: the first caller gets the TLS connection, the origin a verdict.
        rememberFallback(key);
        return { kind: "h1", socket: opened.claim() };
      }
      entry = opened;
    }
    // Reserve before waiting, so concurrent callers count against the stream limit.
    const release = entry.reserve();
    let verdict: "h2" | "h1";
    try {
      verdict = await abortable(entry.ready, signal);
    } catch (err) {
      release();
      throw err;
    }
    if (verdict === "h1") {
      release();
      rememberFallback(key);
      entry.retire();
      return { kind: "h1" };
    }
    // Reserved before the server's SETTINGS said how many streams it takes: over the limit,
    // nghttp2 would queue the request until a stream closes, so use another session.
    const max = entry.session.remoteSettings.maxConcurrentStreams ?? Infinity;
    if (!entry.session.destroyed && !entry.session.closed && entry.usable && entry.streams <= max) return { kind: "h2", session: entry.session, release };
    // It went away (GOAWAY, error) while we waited, or is full: try again (another one).
    release();
  }
}

/**
 * Opens the connection and the session, and adds it to the pool at once (concurrent
 * callers share it). Over TLS, ALPN offers h2 and http/1.1; if the server chooses
 * http/1.1 the TLS socket is returned instead. A TLS handshake gets `timeoutMs`.
 */
function openSession(key: string, origin: Origin, timeoutMs: number): Promise<PooledSession | AlpnHttp1> {
  const authority = `${origin.secure ? "https" : "http"}://${origin.host.includes(":") ? `[${origin.host}]` : origin.host}:${origin.port}`;
  if (!origin.secure) {
    let connected = false;
    const session = http2Connect(authority);
    session.once("connect", () => (connected = true));
    return Promise.resolve(addToPool(key, session, () => connected));
  }
  // The placeholder promise joins concurrent callers to the same TLS connection attempt.
  const pending = pendingTls.get(key);
  if (pending !== undefined) return pending;
  const attempt = new Promise<PooledSession | AlpnHttp1>((resolve, reject) => {
    const socket = tlsConnect({ host: origin.host, port: origin.port, ...origin.tls, ALPNProtocols: ["h2", "http/1.1"] });
    // Nobody waits longer than the handshake timeout: never leave the connection behind.
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`TLS connection to ${origin.host}:${origin.port} timed out after ${timeoutMs} ms`)));
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      socket.removeListener("error", reject);
      // Until the session or the HTTP/1.1 request has its own listeners: never crash.
      socket.on("error", noop);
      // RFC 9113 §3.2: "h2" identifies HTTP/2 over TLS.
      if (socket.alpnProtocol === "h2") return resolve(addToPool(key, http2Connect(authority, { createConnection: () => socket }), () => true));
      // Not claimed (every waiter gave up): nobody will use it.
      const unclaimed = setImmediate(() => socket.destroy());
      let claimed = false;
      resolve({
        claim: () => {
          if (claimed) return undefined;
          claimed = true;
          clearImmediate(unclaimed);
          return socket;
        },
      });
    });
    socket.once("error", reject);
  });
  pendingTls.set(key, attempt);
  const clear = (): void => void pendingTls.delete(key);
  attempt.then(clear, clear);
  return attempt;
}

/** `promise`, or the signal's reason if it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** TLS connections being set up, by key. */
const pendingTls = new Map<string, Promise<PooledSession | AlpnHttp1>>();

/** A TLS connection whose ALPN chose http/1.1: the first to claim it sends its request on it. */
interface AlpnHttp1 {
  claim(): TLSSocket | undefined;
}

function addToPool(key: string, session: ClientHttp2Session, connected: () => boolean): PooledSession {
  const entry = new PooledSession(key, session, connected);
  let list = pool.get(key);
  if (list === undefined) pool.set(key, (list = []));
  list.push(entry);
  return entry;
}

/** @internal Pooled sessions and remembered verdicts (of origins whose key contains `filter`), for tests. */
export function http2PoolState(filter = ""): { sessions: number; verdicts: number } {
  let sessions = 0;
  let verdicts = 0;
  for (const [key, list] of pool) if (key.includes(filter)) sessions += list.length;
  for (const key of fallbackVerdicts.keys()) if (key.includes(filter)) verdicts++;
  return { sessions, verdicts };
}

function noop(): void {}
