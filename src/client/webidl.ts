/**
 * The few Web IDL rules the client's interfaces need (https://webidl.spec.whatwg.org/):
 * argument counts, value conversions, dictionaries, and the shape of an interface's
 * prototype. Kept apart so each interface file reads like its standard.
 */

/**
 * Web IDL §3.7.5 overload resolution, step 3: too few arguments is a TypeError, checked
 * before any argument is converted and before the operation's own steps run.
 */
export function requireArguments(present: number, required: number, interfaceName: string, member: string): void {
  if (present >= required) return;
  const what = member === "constructor" ? `construct '${interfaceName}'` : `execute '${member}' on '${interfaceName}'`;
  throw new TypeError(`Failed to ${what}: ${required} argument${required === 1 ? "" : "s"} required, but only ${present} present.`);
}

const toWellFormed = (String.prototype as { toWellFormed?: () => string }).toWellFormed;

/** Web IDL §3.2.12 USVString: ToString, then lone surrogates become U+FFFD. */
export function toUSVString(value: unknown): string {
  const s = toDOMString(value);
  return toWellFormed === undefined ? Buffer.from(s).toString() : toWellFormed.call(s);
}

/** Web IDL §3.2.10 DOMString: ToString (a Symbol throws a TypeError). */
export function toDOMString(value: unknown): string {
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
  return String(value);
}

/** Web IDL §3.2.4 `unsigned short` (no annotation): ToNumber, truncate, modulo 2^16. */
export function toUnsignedShort(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n === 0) return 0;
  const t = Math.trunc(n) % 65536;
  return t < 0 ? t + 65536 : t;
}

/** Web IDL §3.2.4 `[Clamp] unsigned short`: NaN is 0, clamped to 0-65535, ties to even. */
export function toClampedUnsignedShort(value: unknown): number {
  const n = Number(value);
  if (!(n > 0)) return 0;
  if (n >= 0xffff) return 0xffff;
  const floor = Math.floor(n);
  const fraction = n - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Web IDL §3.2.17 dictionaries: undefined and null are an empty dictionary; other non-objects are a TypeError. */
export function toDictionary(value: unknown, context: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" && typeof value !== "function") throw new TypeError(`${context}: the argument is not an object`);
  return value as Record<string, unknown>;
}

/** Whether `buffer` is a SharedArrayBuffer, which a `BufferSource` without [AllowShared] excludes (Web IDL §3.2.26). */
export function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}

/** What {@link exposeInterface} needs to know about an interface. */
export interface InterfaceShape {
  /** The interface name, used for `Symbol.toStringTag`. */
  name: string;
  /** Regular attributes (accessors on the prototype). */
  attributes?: readonly string[];
  /** Regular operations and their `length` (the count of required arguments). */
  operations?: Readonly<Record<string, number>>;
}

/**
 * Gives a class the property shape Web IDL §3.7 gives an interface: attributes and
 * operations on the prototype are enumerable (ES classes make them non-enumerable), each
 * operation's `length` is its number of required arguments, and `Symbol.toStringTag` is
 * the interface name (§3.7.3), so `String(obj)` is "[object Name]".
 */
export function exposeInterface(ctor: { prototype: object }, shape: InterfaceShape): void {
  const proto = ctor.prototype;
  for (const name of shape.attributes ?? []) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d === undefined || d.get === undefined) throw new Error(`exposeInterface: ${shape.name}.${name} is not an accessor`);
    Object.defineProperty(proto, name, { ...d, enumerable: true });
  }
  for (const [name, length] of Object.entries(shape.operations ?? {})) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d === undefined || typeof d.value !== "function") throw new Error(`exposeInterface: ${shape.name}.${name} is not a method`);
    Object.defineProperty(d.value, "length", { value: length, configurable: true });
    Object.defineProperty(proto, name, { ...d, enumerable: true });
  }
  Object.defineProperty(proto, Symbol.toStringTag, { value: shape.name, writable: false, enumerable: false, configurable: true });
}
