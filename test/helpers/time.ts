/**
 * Time in tests: the one scaling factor for every timeout a test must have, and bounded waits
 * on conditions and events.
 *
 * A test never sleeps in place of an event: it waits for the event (or for a condition it
 * can observe) with a deadline, and the deadline only decides how long a broken run takes to
 * fail. Every such deadline is multiplied by {@link TIME_FACTOR}, which a slow or busy
 * machine (CI, `npm run test:busy`) raises with `WSX_TEST_TIME_FACTOR`.
 */
import type { EventEmitter } from "node:events";

/** Environment variable that multiplies every test timeout (default 1). */
export const TIME_FACTOR_ENV = "WSX_TEST_TIME_FACTOR";

function readFactor(): number {
  const raw = process.env[TIME_FACTOR_ENV];
  if (raw === undefined || raw.trim() === "") return 1;
  const factor = Number(raw);
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new RangeError(`${TIME_FACTOR_ENV} must be a positive number, got "${raw}"`);
  }
  return factor;
}

/**
 * The factor every test timeout is multiplied by: `WSX_TEST_TIME_FACTOR`, default 1.
 * Raise it on a slow or busy machine; it never makes a passing run slower, only a failing
 * one (a deadline is the longest a wait may take, not how long it takes).
 */
export const TIME_FACTOR: number = readFactor();

/**
 * `ms` multiplied by {@link TIME_FACTOR}, rounded up.
 *
 * @example const timer = setTimeout(fail, scaled(5000));
 */
export function scaled(ms: number): number {
  return Math.ceil(ms * TIME_FACTOR);
}

/** Default deadline of the waits below before scaling, ms. */
export const DEFAULT_WAIT_MS = 5000;

/**
 * Resolves once `condition()` is true, checking it every 5 ms (for state a test cannot
 * subscribe to, e.g. a counter a server handler increments). Rejects after
 * `scaled(timeoutMs)` with `what` in the message; a throwing `condition` rejects at once.
 *
 * @example await waitUntil(() => server.wss.clients.size === 0, "every connection to close");
 */
export function waitUntil(condition: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const limit = scaled(timeoutMs);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + limit;
    const check = (): void => {
      let done: boolean;
      try {
        done = condition();
      } catch (error) {
        reject(error);
        return;
      }
      if (done) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out after ${limit} ms waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

/**
 * Resolves with the arguments of the next `event` of `emitter`; rejects when `error` is
 * emitted first (unless `event` is "error") or after `scaled(timeoutMs)`.
 *
 * @example const [code] = await nextEvent(ws, "close");
 */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  const limit = scaled(timeoutMs);
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      cleanup();
      resolve(args as T);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${event}" event within ${limit} ms`));
    }, limit);
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== "error") emitter.off("error", onError);
    };
    emitter.on(event, onEvent);
    if (event !== "error") emitter.on("error", onError);
  });
}

/**
 * Races `promise` against `scaled(timeoutMs)`; rejects with `what` in the message when the
 * deadline comes first (the promise itself is left to settle on its own).
 *
 * @example const code = await within(closed, "the close event");
 */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  const limit = scaled(timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${limit} ms waiting for ${what}`)), limit);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
