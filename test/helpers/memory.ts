/**
 * Memory measurement for tests: a forced garbage collection (with `--expose-gc`, or enabled on
 * demand when the runner did not pass it), then the numbers that a connection can make grow.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = () => void;

let gcFn: Gc | null = null;

/** Runs a full garbage collection (twice: weak callbacks free external memory on the second). */
export function forceGc(): void {
  if (gcFn === null) {
    const g = (globalThis as { gc?: Gc }).gc;
    if (g !== undefined) gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as Gc;
    }
  }
  gcFn();
  gcFn();
}

/** JS heap plus external (Buffer) memory after a forced GC, in bytes. */
export function retainedBytes(): number {
  forceGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
