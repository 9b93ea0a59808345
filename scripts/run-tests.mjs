// Runs the compiled test files (.build/test/**/*.test.js) with node:test, the way `npm test`
// wants them run:
//
// - `--expose-gc` for every test file, so memory bounds are sampled after a forced GC;
// - a timeout of 120 s per test file times WSX_TEST_TIME_FACTOR (Node 20 applies the runner's
//   timeout to each file as a whole; it was 300 s): the slowest file, the 20,000-cycle churn,
//   takes ~13-18 s on a 2-core machine and 53 s with two CPU hogs on it (measured);
// - scripts/test-exit.mjs preloaded into each test file's process: once the file's tests are
//   done it may take 1 s (scaled) to exit by itself, then it is told what was left open and
//   exits, so a handle a failing test leaked cannot keep the file running until the timeout;
// - a summary at the end: counts, the slowest files, and the wall time.
//
// Usage: node scripts/run-tests.mjs [file or directory ...]
//   (paths under test/ or .build/test/; default: every test file)
// Environment: WSX_TEST_TIME_FACTOR (default 1), WSX_TEST_CONCURRENCY (files at once;
// default: node's, available cores - 1).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { run } from "node:test";
import { spec, tap } from "node:test/reporters";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// Test files run with this process's execArgv: make sure it has what they need, else start
// again with it.
const needed = ["--expose-gc", `--import=${pathToFileURL(join(root, "scripts/test-exit.mjs")).href}`];
if (!needed.every((flag) => process.execArgv.includes(flag))) {
  const again = spawnSync(process.execPath, [...needed, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(again.status ?? 1);
}
const BASE_TIMEOUT_MS = 120_000;

const factor = Number(process.env.WSX_TEST_TIME_FACTOR ?? "1");
if (!Number.isFinite(factor) || factor <= 0) {
  console.error(`run-tests: WSX_TEST_TIME_FACTOR must be a positive number, got "${process.env.WSX_TEST_TIME_FACTOR}"`);
  process.exit(2);
}
const timeout = Math.ceil(BASE_TIMEOUT_MS * factor);
const concurrency = Number(process.env.WSX_TEST_CONCURRENCY ?? Math.max(1, availableParallelism() - 1));

/** Every *.test.js below `dir`, sorted. */
function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

/** A path as given on the command line, mapped to compiled output (test/x.test.ts -> .build/test/x.test.js). */
function compiled(arg) {
  let path = relative(root, resolve(arg));
  if (path.startsWith("test/") || path === "test") path = join(".build", path);
  path = path.replace(/\.ts$/, ".js");
  const full = join(root, path);
  if (!existsSync(full)) {
    console.error(`run-tests: ${arg} -> ${path} does not exist (did the test build run?)`);
    process.exit(2);
  }
  return statSync(full).isDirectory() ? testFiles(full) : [full];
}

const files = process.argv.length > 2 ? process.argv.slice(2).flatMap(compiled) : testFiles(join(root, ".build/test"));
if (files.length === 0) {
  console.error("run-tests: no test files found");
  process.exit(2);
}

console.log(`# wsx tests: ${files.length} files, timeout ${timeout} ms per test file (WSX_TEST_TIME_FACTOR=${factor}), ${concurrency} file(s) at once`);
const started = Date.now();
const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
const fileMs = new Map();
const failures = [];

const stream = run({ files, timeout, concurrency });
stream.on("test:pass", (event) => {
  if (event.skip !== undefined && event.skip !== false) counts.skip++;
  else if (event.todo !== undefined && event.todo !== false) counts.todo++;
  else if (event.details?.type !== "suite") counts.pass++;
  if (event.nesting === 0 && event.file !== undefined) fileMs.set(event.file, (fileMs.get(event.file) ?? 0) + (event.details?.duration_ms ?? 0));
});
stream.on("test:fail", (event) => {
  if (event.todo !== undefined && event.todo !== false) counts.todo++;
  else {
    if (event.details?.type !== "suite") counts.fail++;
    process.exitCode = 1;
    if (event.details?.type !== "suite") failures.push(`${relative(root, event.file ?? "?")}: ${event.name}`);
  }
  if (event.nesting === 0 && event.file !== undefined) fileMs.set(event.file, (fileMs.get(event.file) ?? 0) + (event.details?.duration_ms ?? 0));
});

const reporter = process.stdout.isTTY ? spec : tap;
const output = stream.compose(reporter);
output.pipe(process.stdout, { end: false });
output.on("end", () => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const slowest = [...fileMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
  const lines = [
    "",
    `# wsx tests: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped, ${counts.todo} todo, in ${seconds} s (${files.length} files)`,
    "# slowest files: " + slowest.map(([file, ms]) => `${relative(join(root, ".build"), file)} ${(ms / 1000).toFixed(1)} s`).join(", "),
    ...failures.map((f) => `# FAILED ${f}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
});
