/** Bounded waits for conditions the tests cannot await directly: test/helpers/time.ts, re-exported. */
export { waitUntil } from "../helpers/time.js";
