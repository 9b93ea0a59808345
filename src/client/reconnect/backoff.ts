/**
 * Reconnection delays: capped exponential backoff with full jitter ("Exponential Backoff
 * and Jitter", AWS Architecture Blog, 2015): the n-th retry after failures waits a uniformly
 * random time in [0, min(maxDelay, initialDelay × factor^n)). Full jitter spreads the
 * clients a restarted server dropped all at once over the whole window instead of letting
 * them return in waves. Browser-safe.
 */

/** Options of the backoff schedule; times in ms. */
export interface BackoffOptions {
  /** Upper bound of the first retry's delay, ms. Default 500. */
  initialDelay?: number;
  /** Largest upper bound any retry's delay can have, ms. Default 30000. */
  maxDelay?: number;
  /** Growth of the upper bound per consecutive failure. Default 2. */
  factor?: number;
}

/** Defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = Object.freeze({ initialDelay: 500, maxDelay: 30_000, factor: 2 });

/** The upper bound of the delay before retry number `failures` (0 for the first retry). */
export function backoffCeiling(failures: number, options: BackoffOptions = {}): number {
  const initialDelay = options.initialDelay ?? BACKOFF_DEFAULTS.initialDelay;
  const maxDelay = options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay;
  const factor = options.factor ?? BACKOFF_DEFAULTS.factor;
  // factor^n overflows to Infinity for large n; min() keeps it at maxDelay.
  return Math.min(maxDelay, initialDelay * factor ** Math.max(0, failures));
}

/**
 * The delay before retry number `failures` (0 for the first retry after a drop):
 * `random() × backoffCeiling(failures)`, rounded down to whole ms. `random` must return a
 * number in [0, 1) (default `Math.random`).
 */
export function backoffDelay(failures: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const r = random();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.floor(unit * backoffCeiling(failures, options));
}
