/**
 * What `npm pack` ships from a clean checkout (no dist/): prepack must build it, every file
 * the exports map and `bin` name must be in the tarball, and nothing may point at files that
 * are not shipped (source maps into src/).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnChild } from "../helpers/process.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Every path string in an exports map (conditions nested at any depth). */
function targets(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(targets);
  return [];
}

test("npm pack from a clean checkout builds dist/ and ships what package.json points at, and no source maps", { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "wsx-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The working tree as git sees it (tracked and new files, ignored ones such as dist/ left out).
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f !== "" && f !== "node_modules");
  for (const f of files) {
    try {
      cpSync(join(ROOT, f), join(dir, f), { recursive: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // deleted but not yet committed
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");

  const npm = spawnChild("npm", ["pack", "--dry-run", "--json"], { t, cwd: dir, name: "npm pack" });
  const { code } = await npm.exited(240_000);
  assert.equal(code, 0, npm.stderr());
  const [report] = JSON.parse(npm.stdout()) as Array<{ files: Array<{ path: string }> }>;
  const shipped = new Set(report.files.map((f) => f.path));

  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { exports: unknown; bin: Record<string, string>; main: string; types: string };
  for (const target of [...targets(pkg.exports), ...Object.values(pkg.bin), pkg.main, pkg.types]) {
    assert.ok(shipped.has(target.replace(/^\.\//, "")), `${target} is named in package.json but not shipped`);
  }
  for (const must of ["LICENSE", "README.md", "dist/cjs/package.json", "dist/cli/public/index.html"]) assert.ok(shipped.has(must), `${must} is not shipped`);
  const maps = [...shipped].filter((p) => p.endsWith(".map"));
  assert.deepEqual(maps, [], "source maps would point at src/, which is not shipped");
  assert.deepEqual([...shipped].filter((p) => p.startsWith("src/") || p.startsWith("test/")), []);
  // dist/cjs is CommonJS whatever the root package.json says.
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "dist/cjs/package.json"), "utf8")), { type: "commonjs" });
});
