// Builds the package: ESM into dist/, CommonJS into dist/cjs/ (the `require` condition of the
// exports map), and copies the chat demo page. dist/ is emptied first so nothing stale ships.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = (project) => execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}${project}`], { stdio: "inherit" });

rmSync(`${root}dist`, { recursive: true, force: true });
tsc("tsconfig.json");
tsc("tsconfig.cjs.json");
// The root package.json says "type": "module"; this one makes Node read dist/cjs/*.js (and
// TypeScript read dist/cjs/*.d.ts) as CommonJS.
writeFileSync(`${root}dist/cjs/package.json`, JSON.stringify({ type: "commonjs" }) + "\n");
const pub = `${root}src/cli/public`;
if (existsSync(pub)) cpSync(pub, `${root}dist/cli/public`, { recursive: true });
