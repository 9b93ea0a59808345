/**
 * WebAssembly SIMD masking (RFC 6455 §5.3): XORs with the 32-bit masking key 16 bytes per
 * instruction (`v128.xor`), several times faster than a JavaScript word loop on payloads of a
 * few hundred bytes and more. The module is 201 bytes, embedded below; it is compiled on first
 * use, and where WebAssembly or its SIMD proposal is unavailable {@link simdMasker} returns null
 * and callers keep their JavaScript loop.
 *
 * WebAssembly code sees only its own memory, so bytes are masked in one of two places:
 * - a shared scratch memory (128 KiB, never grown, so views of it stay valid): bytes are
 *   copied in (one native memcpy), XORed there, and copied out ({@link simdMasker});
 * - a {@link MaskHome}: a buffer that *is* a WebAssembly memory, in which a client builds its
 *   large frames: the payload is copied in and XORed in place, and the socket writes it from
 *   there: one copy instead of two (the output queue keeps one per client connection).
 *
 * Source of the module (wat2wasm):
 *
 * ```wat
 * (module
 *   (import "e" "m" (memory 1))
 *   ;; XORs bytes [ptr, ptr + (len & ~15)) of memory in place with the 32-bit key repeated
 *   ;; (key byte 0 on ptr); the caller XORs the last len & 15 bytes.
 *   (func (export "x") (param $ptr i32) (param $len i32) (param $key i32)
 *     (local $end i32) (local $end64 i32) (local $k v128)
 *     (local.set $k (i32x4.splat (local.get $key)))
 *     (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -16))))
 *     (local.set $end64 (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -64))))
 *     (block $done64
 *       (loop $l64
 *         (br_if $done64 (i32.ge_u (local.get $ptr) (local.get $end64)))
 *         (v128.store (local.get $ptr) (v128.xor (v128.load (local.get $ptr)) (local.get $k)))
 *         (v128.store offset=16 (local.get $ptr) (v128.xor (v128.load offset=16 (local.get $ptr)) (local.get $k)))
 *         (v128.store offset=32 (local.get $ptr) (v128.xor (v128.load offset=32 (local.get $ptr)) (local.get $k)))
 *         (v128.store offset=48 (local.get $ptr) (v128.xor (v128.load offset=48 (local.get $ptr)) (local.get $k)))
 *         (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
 *         (br $l64)))
 *     (block $done16
 *       (loop $l16
 *         (br_if $done16 (i32.ge_u (local.get $ptr) (local.get $end)))
 *         (v128.store (local.get $ptr) (v128.xor (v128.load (local.get $ptr)) (local.get $k)))
 *         (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
 *         (br $l16)))))
 * ```
 */

// prettier-ignore
const MODULE = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 3, 127, 127, 127, 0, 2, 8, 1, 1, 101, 1, 109, 2, 0, 1, 3, 2, 1, 0, 7, 5, 1, 1, 120,
  0, 0, 10, 160, 1, 1, 157, 1, 2, 2, 127, 1, 123, 32, 2, 253, 17, 33, 5, 32, 0, 32, 1, 65, 112, 113, 106, 33, 3, 32, 0, 32, 1,
  65, 64, 113, 106, 33, 4, 2, 64, 3, 64, 32, 0, 32, 4, 79, 13, 1, 32, 0, 32, 0, 253, 0, 4, 0, 32, 5, 253, 81, 253, 11, 4, 0, 32,
  0, 32, 0, 253, 0, 4, 16, 32, 5, 253, 81, 253, 11, 4, 16, 32, 0, 32, 0, 253, 0, 4, 32, 32, 5, 253, 81, 253, 11, 4, 32, 32, 0,
  32, 0, 253, 0, 4, 48, 32, 5, 253, 81, 253, 11, 4, 48, 32, 0, 65, 192, 0, 106, 33, 0, 12, 0, 11, 11, 2, 64, 3, 64, 32, 0, 32,
  3, 79, 13, 1, 32, 0, 32, 0, 253, 0, 4, 0, 32, 5, 253, 81, 253, 11, 4, 0, 32, 0, 65, 16, 106, 33, 0, 12, 0, 11, 11, 11,
];

/** Bytes XORed per call: 16 KiB stays in the L1/L2 cache between the copies (measured: faster than 8, 32 or 64 KiB). */
const BLOCK = 16384;

/** XORs `data[start..end)` with `key` (rotated for `phase`), writing to `target` at `offset`. */
export type SimdMasker = (source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number, key: number, phase: number) => void;

let masker: SimdMasker | null | undefined;

/** The SIMD masker, or null where WebAssembly SIMD is not available (checked once). */
export function simdMasker(): SimdMasker | null {
  if (masker === undefined) masker = load();
  return masker;
}

/** Test hook: forces the JavaScript fallback (`false`) or re-enables SIMD (`true`). */
export function setSimdMasking(enabled: boolean): void {
  masker = enabled ? load() : null;
}

/** The part of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: { e: { m: object } }) => { exports: { x: XorInPlace } };
}

/** The module's export: XORs memory [ptr, ptr + (len & ~15)) in place with `key` repeated. */
type XorInPlace = (ptr: number, len: number, key: number) => void;

/** WebAssembly pages are 64 KiB. */
const PAGE = 65536;

let compiled: { wasm: WasmApi; module: object } | null | undefined;

/** The compiled module, or null without WebAssembly SIMD (checked once). */
function compiledModule(): { wasm: WasmApi; module: object } | null {
  if (compiled === undefined) {
    compiled = null;
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm !== undefined) {
      try {
        compiled = { wasm, module: new wasm.Module(new Uint8Array(MODULE)) };
      } catch {
        // No SIMD (the module fails to validate) or no synchronous compilation.
      }
    }
  }
  return compiled;
}

/** A fresh memory of `pages` pages (never grown: views of it stay valid) and its XOR, or null. */
function instantiate(pages: number): { memory: Uint8Array; xor: XorInPlace } | null {
  const c = compiledModule();
  if (c === null) return null;
  try {
    const m = new c.wasm.Memory({ initial: pages, maximum: pages });
    const xor = new c.wasm.Instance(c.module, { e: { m } }).exports.x;
    return { memory: new Uint8Array(m.buffer), xor };
  } catch {
    return null; // out of memory or of address space: callers keep the JavaScript path
  }
}

function load(): SimdMasker | null {
  const inst = instantiate(2);
  if (inst === null) return null;
  const { memory, xor } = inst;
  return (source, start, end, target, offset, key, phase) => {
    // Byte m of memory gets key byte (phase + m) & 3: rotate the key so that byte 0 does.
    const shift = (phase & 3) << 3;
    const word = shift === 0 ? key | 0 : ((key >>> shift) | (key << (32 - shift))) | 0;
    // Blocks are multiples of 4 bytes, so the rotation holds for each of them.
    for (let at = start; at < end; at += BLOCK) {
      const stop = end - at > BLOCK ? at + BLOCK : end;
      const n = stop - at;
      memory.set(source.subarray(at, stop), 0);
      // The scratch memory is ours alone: XOR up to the next 16 bytes, copy out only n.
      xor(0, n + 15, word);
      target.set(memory.subarray(0, n), offset + (at - start));
    }
  };
}

/** Live {@link MaskHome}s, each a WebAssembly memory (which reserves address space of its own). */
let liveHomes = 0;
/** Bytes of the live MaskHomes. */
let liveHomeBytes = 0;
const homesCollected = new FinalizationRegistry<number>((bytes) => {
  liveHomes--;
  liveHomeBytes -= bytes;
});

/**
 * At most this many MaskHomes exist at once in a process (one per client connection that sends
 * large frames); past it, {@link MaskHome.create} returns null and frames are masked through the
 * scratch memory. Each WebAssembly memory reserves several GiB of address space up front.
 */
export const MAX_MASK_HOMES = 64;

/** The largest MaskHome: 16 MiB; larger frames are masked through the scratch memory. */
export const MAX_MASK_HOME_SIZE = 16 * 1024 * 1024;

/**
 * All MaskHomes of a process together hold at most 64 MiB: a home lives as long as its
 * connection, so many connections that once sent a large frame must not add up to more.
 */
export const MAX_MASK_HOME_BYTES = 64 * 1024 * 1024;

/**
 * A buffer that is a WebAssembly memory of its own, where a client masks large payloads in
 * place (RFC 6455 §5.3): {@link MaskHome.copyMasked} copies the caller's bytes in (one native
 * memcpy per 16 KiB block) and XORs them there with SIMD while they are in the cache, so a
 * frame built here costs one pass over memory where the scratch path costs two. The owner
 * decides when the bytes may be overwritten (see {@link MaskHome.busy}).
 */
export class MaskHome {
  /** The whole memory, as a Buffer (a multiple of 64 KiB). */
  readonly buffer: Buffer;
  /** Set by the owner while a frame built here may still be read (queued or being written). */
  busy = false;
  private readonly xor: XorInPlace;

  private constructor(memory: Uint8Array, xor: XorInPlace) {
    this.buffer = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength);
    this.xor = xor;
  }

  /** A home of at least `size` bytes, or null (no SIMD, over the limits, or out of memory). */
  static create(size: number): MaskHome | null {
    const pages = Math.ceil(size / PAGE);
    if (size > MAX_MASK_HOME_SIZE || liveHomes >= MAX_MASK_HOMES || liveHomeBytes + pages * PAGE > MAX_MASK_HOME_BYTES || simdMasker() === null) return null;
    const inst = instantiate(pages);
    if (inst === null) return null;
    const home = new MaskHome(inst.memory, inst.xor);
    liveHomes++;
    liveHomeBytes += home.buffer.length;
    homesCollected.register(home, home.buffer.length);
    return home;
  }

  /** XORs `buffer[start..end)` in place with the packed `key` (key byte 0 on `start`). */
  maskInPlace(start: number, end: number, key: number): void {
    const buffer = this.buffer;
    const n = end - start;
    this.xor(start, n, key);
    for (let i = start + (n & ~15); i < end; i++) buffer[i] ^= key >>> (((i - start) & 3) << 3);
  }

  /**
   * Copies `source[start..end)` to `buffer` at `offset`, masked with the packed `key` (see
   * packMaskKey; key byte 0 applies to the first byte). The caller's bytes are not modified.
   */
  copyMasked(source: Uint8Array, start: number, end: number, offset: number, key: number): void {
    const buffer = this.buffer;
    const xor = this.xor;
    // Blocks are multiples of 16 bytes, so key byte 0 applies to the first byte of each.
    for (let at = start; at < end; at += BLOCK) {
      const stop = end - at > BLOCK ? at + BLOCK : end;
      const n = stop - at;
      const o = offset + (at - start);
      buffer.set(source.subarray(at, stop), o);
      xor(o, n, key);
      // The last n & 15 bytes (only in the last block), byte by byte; (i - o) & 3 is their key byte.
      for (let i = o + (n & ~15); i < o + n; i++) buffer[i] ^= key >>> (((i - o) & 3) << 3);
    }
  }
}
