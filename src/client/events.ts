/**
 * The events of the WHATWG WebSocket interface: `CloseEvent` (which Node 20 lacks) and a
 * `MessageEvent` with the fields the standard's MessageEvent has.
 */

/** DOM §EventInit. */
export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

/** WHATWG WebSockets §CloseEvent: the init dictionary. */
export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** WHATWG WebSockets §CloseEvent: fired when a WebSocket connection is closed. */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = Boolean(init.wasClean);
    this.#code = init.code === undefined ? 0 : Number(init.code) & 0xffff;
    this.#reason = init.reason === undefined ? "" : String(init.reason);
  }

  /** Whether the connection closed cleanly (close handshake completed). */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  /** The close code (1005 when none was received, 1006 for an abnormal closure). */
  get code(): number {
    return this.#code;
  }

  /** The close reason. */
  get reason(): string {
    return this.#reason;
  }
}

/** The init dictionary of {@link WebSocketMessageEvent}. */
export interface MessageEventInit<T = unknown> extends EventInit {
  data?: T;
  origin?: string;
  lastEventId?: string;
}

/**
 * HTML §MessageEvent as a WebSocket fires it: `data`, `origin`, `lastEventId` (""),
 * `source` (null) and `ports` (empty). Lighter than Node's worker MessageEvent, which does
 * WebIDL conversions the WebSocket case never needs.
 */
export class WebSocketMessageEvent<T = unknown> extends Event {
  /** The message: a string, a Blob or an ArrayBuffer. */
  readonly data: T;
  /** The origin of the WebSocket's URL. */
  readonly origin: string;
  /** Always "" for WebSocket messages. */
  readonly lastEventId: string;
  /** Always null for WebSocket messages. */
  readonly source: null = null;
  /** Always empty for WebSocket messages. */
  readonly ports: readonly unknown[] = EMPTY;

  constructor(type: string, init: MessageEventInit<T> = {}) {
    super(type, init);
    this.data = init.data as T;
    this.origin = init.origin ?? "";
    this.lastEventId = init.lastEventId ?? "";
  }
}

const EMPTY: readonly unknown[] = Object.freeze([]);
