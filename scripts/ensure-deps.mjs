// Installs the npm dependencies on first use, so `npm start` and `npm test` work straight
// from a fresh clone. Does nothing when they are already installed.
import { existsSync } from "node:fs";
import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!existsSync(`${root}node_modules/typescript/package.json`)) {
  console.error("wsx: installing npm dependencies (first run)...");
  execSync(existsSync(`${root}package-lock.json`) ? "npm ci --no-audit --no-fund" : "npm install --no-audit --no-fund", {
    cwd: root,
    stdio: "inherit",
  });
}
