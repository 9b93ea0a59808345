// The promises the test suite makes to whoever runs it, checked on throwaway test files run
// through the same runner as `npm test` (scripts/run-tests.mjs):
// - a failing test that leaks a handle fails at once, not by timeout;
// - a missing component skips its tests with the reason, and fails them with CI=true.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { spawnChild } from "./process.js";

/** The repository root (this file runs from .build/test/helpers/). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const RUNNER = join(ROOT, "scripts/run-tests.mjs");
const COMPONENTS = pathToFileURL(join(ROOT, ".build/test/helpers/components.js")).href;

/** Writes `source` as a test file in a temporary directory removed when `t` ends. */
function testFile(t: TestContext, name: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "wsx-suite-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

/** Runs `file` through the suite's runner with `env` added; resolves with its exit code and output. */
async function runSuite(t: TestContext, file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  // NODE_TEST_CONTEXT would tell the child it runs inside this test file (and run nothing).
  const { NODE_TEST_CONTEXT: _inherited, ...parent } = process.env;
  const child = spawnChild(process.execPath, [RUNNER, file], { t, cwd: ROOT, env: { ...parent, ...env }, name: "run-tests" });
  // Far below the runner's 120 s per-file timeout: a run that only ends by timing out fails here.
  const { code } = await child.exited(30_000);
  return { code, out: child.stdout() + child.stderr() };
}

describe("the test suite's promises", () => {
  test("a failing test that leaks a server fails at once: nothing is cancelled by the timeout", async (t) => {
    const file = testFile(
      t,
      "leak.test.mjs",
      `import { test } from "node:test";
import { createServer } from "node:net";
test("leaks a listening server, then fails", () => {
  createServer().listen(0, "127.0.0.1");
  throw new Error("planned failure");
});
`,
    );
    const { code, out } = await runSuite(t, file);
    assert.equal(code, 1, out);
    assert.match(out, /planned failure/);
    assert.match(out, /# cancelled 0/, out);
    assert.doesNotMatch(out, /timed out/, out);
    assert.match(out, /# wsx tests: 0 passed, 1 failed/);
    assert.match(out, /leak\.test\.mjs was still held open .* \(by .*TCPServerWrap.*\): a test did not release what it opened/);
  });

  const needsChromium = `import { test } from "node:test";
import { skipUnless } from ${JSON.stringify(COMPONENTS)};
test("needs chromium", { skip: await skipUnless("chromium") }, () => {});
`;
  const absent = { WSX_TEST_CHROMIUM: join(tmpdir(), "no-such-dir", "chromium") };

  test("a missing component skips its tests with the reason", async (t) => {
    const { code, out } = await runSuite(t, testFile(t, "needs.test.mjs", needsChromium), { ...absent, CI: "" });
    assert.equal(code, 0, out);
    assert.match(out, /# SKIP chromium is not available \(apt-get install chromium/);
    assert.match(out, /0 failed, 1 skipped/);
  });

  test("with CI=true a missing component fails instead", async (t) => {
    const { code, out } = await runSuite(t, testFile(t, "needs.test.mjs", needsChromium), { ...absent, CI: "true" });
    assert.equal(code, 1, out);
    assert.match(out, /CI=true and a required component is missing: chromium is not available/);
  });
});
