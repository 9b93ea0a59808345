// `npm run test:busy`: runs `npm test` while CPU hogs keep every core busy, to show the
// suite does not depend on a quiet machine. The hogs are `node -e 'for(;;){}'` children,
// killed when the run ends, however it ends (exit, error, Ctrl-C).
//
// Usage: npm run test:busy [-- --runs N] [-- --hogs N]
//   --runs N   run the suite N times in a row (default 1); stops at the first failure
//   --hogs N   number of hogs (default: one per core)
// The time factor is left as it is (WSX_TEST_TIME_FACTOR, default 1): the point is that the
// suite passes under load without more time. Set it to give a slower machine more.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`test:busy: ${name} needs a whole number`);
    process.exit(2);
  }
  return value;
}
const runs = option("--runs", 1);
const hogCount = option("--hogs", availableParallelism());

const hogs = [];
function killHogs() {
  for (const hog of hogs) {
    if (hog.exitCode === null && hog.signalCode === null) hog.kill("SIGKILL");
  }
}
process.on("exit", killHogs);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    killHogs();
    process.exit(130);
  });
}

for (let i = 0; i < hogCount; i++) {
  hogs.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
}
console.log(`test:busy: ${hogCount} CPU hog(s) running (pids ${hogs.map((h) => h.pid).join(", ")}), ${runs} run(s) of npm test`);

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const times = [];
let failed = false;
try {
  for (let run = 1; run <= runs && !failed; run++) {
    const started = Date.now();
    const code = await new Promise((resolve) => {
      const child = spawn(npm, ["test"], { cwd: root, stdio: "inherit", env: process.env });
      child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal !== null ? 1 : 0)));
      child.on("error", () => resolve(1));
    });
    const seconds = (Date.now() - started) / 1000;
    times.push(seconds);
    console.log(`test:busy: run ${run}/${runs}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds.toFixed(1)} s`);
    if (code !== 0) failed = true;
  }
} finally {
  killHogs();
}
console.log(`test:busy: ${failed ? "FAILED" : "all passed"}; times: ${times.map((s) => `${s.toFixed(1)} s`).join(", ")}`);
process.exit(failed ? 1 : 0);
