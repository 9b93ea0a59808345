/**
 * The events of the WHATWG WebSocket interface: `CloseEvent` (which Node 20 lacks) and a
 * `MessageEvent` with the fields HTML's MessageEvent has, both shaped as Web IDL says
 * (attributes are enumerable accessors on the prototype, `Symbol.toStringTag` names the
 * interface, a missing `type` is a TypeError).
 */
import { exposeInterface, requireArguments, toDictionary, toDOMString, toUnsignedShort, toUSVString } from "./webidl.js";

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

/** DOM §EventInit members read in Web IDL order, for `super()`. */
function eventInit(dict: Record<string, unknown>): { bubbles: boolean; cancelable: boolean; composed: boolean } {
  return { bubbles: Boolean(dict.bubbles), cancelable: Boolean(dict.cancelable), composed: Boolean(dict.composed) };
}

/** WHATWG WebSockets §CloseEvent: fired when a WebSocket connection is closed. */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  /** `new CloseEvent(type, { wasClean, code, reason })`; `type` is required (Web IDL). */
  constructor(type: string, eventInitDict: CloseEventInit = {}) {
    requireArguments(arguments.length, 1, "CloseEvent", "constructor");
    const typeString = toDOMString(type);
    const dict = toDictionary(eventInitDict, "Failed to construct 'CloseEvent'");
    const base = eventInit(dict);
    // Web IDL §3.2.17: a dictionary's own members are read in lexicographic order.
    const code = dict.code === undefined ? 0 : toUnsignedShort(dict.code);
    const reason = dict.reason === undefined ? "" : toUSVString(dict.reason);
    const wasClean = dict.wasClean === undefined ? false : Boolean(dict.wasClean);
    super(typeString, base);
    this.#wasClean = wasClean;
    this.#code = code;
    this.#reason = reason;
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
exposeInterface(CloseEvent, { name: "CloseEvent", attributes: ["wasClean", "code", "reason"] });

/** HTML §MessageEventInit, as far as a WebSocket uses it. */
export interface MessageEventInit<T = unknown> extends EventInit {
  data?: T;
  origin?: string;
  lastEventId?: string;
  source?: null;
  ports?: readonly unknown[];
}

const NO_PORTS: readonly unknown[] = Object.freeze([]);

/**
 * HTML §MessageEvent as a WebSocket fires it: `data`, `origin`, `lastEventId` (""),
 * `source` (null) and `ports` (empty). Lighter than Node's worker MessageEvent, which does
 * conversions the WebSocket case never needs; `Symbol.toStringTag` is "MessageEvent".
 */
export class WebSocketMessageEvent<T = any> extends Event {
  readonly #data: T;
  readonly #origin: string;
  readonly #lastEventId: string;
  readonly #ports: readonly unknown[];

  /** `new WebSocketMessageEvent(type, { data, origin, lastEventId })`; `type` is required. */
  constructor(type: string, eventInitDict: MessageEventInit<T> = {}) {
    requireArguments(arguments.length, 1, "MessageEvent", "constructor");
    const typeString = toDOMString(type);
    const dict = toDictionary(eventInitDict, "Failed to construct 'MessageEvent'");
    const base = eventInit(dict);
    // HTML §MessageEventInit: data defaults to null; members read in lexicographic order.
    const data = (dict.data === undefined ? null : dict.data) as T;
    const lastEventId = dict.lastEventId === undefined ? "" : toDOMString(dict.lastEventId);
    const origin = dict.origin === undefined ? "" : toUSVString(dict.origin);
    const ports = dict.ports === undefined ? NO_PORTS : Object.freeze(Array.from(dict.ports as Iterable<unknown>));
    super(typeString, base);
    this.#data = data;
    this.#origin = origin;
    this.#lastEventId = lastEventId;
    this.#ports = ports;
  }

  /** The message: a string, a Blob or an ArrayBuffer. */
  get data(): T {
    return this.#data;
  }

  /** The origin of the WebSocket's URL. */
  get origin(): string {
    return this.#origin;
  }

  /** Always "" for WebSocket messages. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Always null for WebSocket messages. */
  get source(): null {
    return null;
  }

  /** Always empty for WebSocket messages (the same frozen array each time). */
  get ports(): readonly unknown[] {
    return this.#ports;
  }
}
exposeInterface(WebSocketMessageEvent, { name: "MessageEvent", attributes: ["data", "origin", "lastEventId", "source", "ports"] });

/** The events a `WebSocket` fires, by type (the DOM's `WebSocketEventMap`). */
export interface WebSocketEventMap {
  close: CloseEvent;
  error: Event;
  message: WebSocketMessageEvent;
  open: Event;
}

/** DOM §EventListenerOptions. */
export interface EventListenerOptions {
  capture?: boolean;
}

/** DOM §AddEventListenerOptions. */
export interface AddEventListenerOptions extends EventListenerOptions {
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/** DOM §EventListener: a function or an object with `handleEvent`. */
export type EventListenerOrEventListenerObject = ((event: Event) => void) | { handleEvent(event: Event): void };
