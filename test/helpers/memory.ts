/**
 * Memory measurement for tests: always after a forced, full garbage collection, so a bound
 * compares what is still referenced, not how much garbage the collector happened to leave
 * behind. `npm test` runs with `--expose-gc`; run directly without it, the collector is
 * exposed here at first use (V8 flag set at run time).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = () => void;

let gcFn: Gc | null = null;

function collector(): Gc {
  if (gcFn === null) {
    const g = (globalThis as { gc?: Gc }).gc;
    if (g !== undefined) gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as Gc;
    }
  }
  return gcFn;
}

/** Runs a full garbage collection (twice: weak callbacks free external memory on the second). */
export function forceGc(): void {
  const gc = collector();
  gc();
  gc();
}

/** JS heap plus external (Buffer) memory after a forced GC, in bytes. */
export function retainedBytes(): number {
  forceGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * Runs full garbage collections until ArrayBuffer memory settles: at least twice, with a
 * turn of the event loop after each (backing stores are freed by a sweep that may finish
 * after `gc()` returns), until `arrayBuffers` stops shrinking (ten rounds at most).
 */
export async function settledGc(): Promise<void> {
  const gc = collector();
  let last = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 10; round++) {
    gc();
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    const now = process.memoryUsage().arrayBuffers;
    if (round > 0 && now >= last) return;
    last = now;
  }
}

/**
 * `process.memoryUsage()` sampled after {@link settledGc}.
 *
 * @example const before = await memoryAfterGc(); ...; const grown = (await memoryAfterGc()).arrayBuffers - before.arrayBuffers;
 */
export async function memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
  await settledGc();
  return process.memoryUsage();
}

/** One mebibyte, for margins written as multiples of it. */
export const MiB = 1024 * 1024;

/** `bytes` as "12.3 MiB", for assertion messages. */
export function formatBytes(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** What {@link watchArrayBuffers} saw, bytes above its baseline. */
export interface ArrayBufferGrowth {
  /** The highest growth sampled (every 2 ms, garbage included: an upper view of what was held). */
  peak: number;
  /** The growth still there after a forced GC at the end: what is still referenced. */
  retained: number;
}

/**
 * Watches `process.memoryUsage().arrayBuffers` from a baseline taken after a forced GC:
 * allocate what the test itself needs first, then start watching, so only what the code
 * under test holds is counted. `stop()` gives the peak (sampled every 2 ms) and the growth
 * retained after another forced GC; call it while the objects under test are still open if
 * what they hold should count.
 *
 * @example const watch = await watchArrayBuffers(); ...; const { peak, retained } = await watch.stop();
 */
export async function watchArrayBuffers(): Promise<{ stop(): Promise<ArrayBufferGrowth> }> {
  await settledGc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = baseline;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  };
  const timer = setInterval(sample, 2);
  // A test that fails before stop() must not leave the process running on this sampler.
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      sample();
      await settledGc();
      return { peak: peak - baseline, retained: process.memoryUsage().arrayBuffers - baseline };
    },
  };
}
