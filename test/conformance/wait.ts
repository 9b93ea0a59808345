/** Bounded polling for conditions the tests cannot await directly (e.g. a server handler ran). */

/**
 * Resolves once `condition()` is true, checking every 5 ms; rejects after `timeoutMs`
 * (default 5000) with `what` in the message.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
