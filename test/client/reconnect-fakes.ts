/**
 * Hand-driven doubles for the reconnecting client's unit tests: sockets that open, close and
 * receive when the test says so, and timers that fire when the test says so. No network, no
 * clock: a test reads the delays the client asked for and fires them itself.
 */
import type { ReconnectTimers, WebSocketLike } from "../../src/client/reconnect/reconnecting-websocket.js";

/** A WebSocket the test drives: `open()`, `receive(data)`, `drop(code)`. */
export class FakeSocket extends EventTarget implements WebSocketLike {
  readyState = 0;
  protocol = "";
  extensions = "";
  bufferedAmount = 0;
  binaryType = "blob";
  readonly sent: unknown[] = [];
  /** Arguments of each `close()` call. */
  readonly closeCalls: Array<[number | undefined, string | undefined]> = [];
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    super();
  }
  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closeCalls.push([code, reason]);
    if (this.readyState < 2) this.readyState = 2;
  }
  open(protocol = ""): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }
  receive(data: unknown): void {
    const event = Object.assign(new Event("message"), { data });
    this.dispatchEvent(event);
  }
  /** The connection ends (an error and close from the peer or the network). */
  drop(code = 1006, reason = "", wasClean = false): void {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean }));
  }
}

/** Makes {@link FakeSocket}s and keeps them in order. */
export function fakeSockets(): { sockets: FakeSocket[]; create: (url: string, protocols: string[]) => FakeSocket; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    create: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    last: () => sockets[sockets.length - 1],
  };
}

interface FakeTimer {
  callback: () => void;
  ms: number;
  cleared: boolean;
  fired: boolean;
}

/** Timers that fire only when the test calls `fire`. */
export class FakeTimers implements ReconnectTimers {
  readonly all: FakeTimer[] = [];
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { callback, ms, cleared: false, fired: false };
    this.all.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    (handle as FakeTimer).cleared = true;
  }
  /** Timers set and neither fired nor cleared. */
  pending(): FakeTimer[] {
    return this.all.filter((t) => !t.cleared && !t.fired);
  }
  /** Fires the only pending timer (asserting there is exactly one) and returns its delay. */
  fireOnly(): number {
    const pending = this.pending();
    if (pending.length !== 1) throw new Error(`expected one pending timer, found ${pending.length}`);
    pending[0].fired = true;
    pending[0].callback();
    return pending[0].ms;
  }
}

/** A `random` that returns the given values in turn (then repeats the last). */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}
