// Preloaded into every test file's process by scripts/run-tests.mjs (`--import`): once all
// of the file's tests are done, the process gets a short grace period to exit by itself; if
// something a test opened is still holding it (a socket, a server, a timer that was never
// cleared), it says what, and exits. So a failing test that skipped its cleanup fails at
// once instead of keeping its file alive until the runner's timeout.
//
// (Node 20's own --test-force-exit exits without waiting for the results to be written:
// under load it cut a file's results short, and the tests it lost were counted nowhere.)
import { after } from "node:test";

// Only inside a test file run by the runner, never in the runner itself or other programs.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const factor = Number(process.env.WSX_TEST_TIME_FACTOR ?? "1");
  const graceMs = Math.ceil(1000 * (Number.isFinite(factor) && factor > 0 ? factor : 1));
  after(() => {
    const timer = setTimeout(() => {
      const left = process.getActiveResourcesInfo().filter((name) => name !== "TTYWrap" && name !== "PipeWrap");
      const file = process.argv[1] ?? "this test file";
      process.stderr.write(
        `wsx tests: ${file} was still held open ${graceMs} ms after its last test` +
          (left.length > 0 ? ` (by ${left.join(", ")})` : "") +
          ": a test did not release what it opened; exiting\n",
      );
      process.exit();
    }, graceMs);
    timer.unref();
  });
}
