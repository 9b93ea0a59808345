// Bun as a reference server for the benchmarks, installed on demand (never a dependency of
// the package: CI must not download it). The npm package @oven/bun-linux-x64 ships the bun
// binary inside its tarball (no install script), so `npm install` of it into a cache
// directory outside the source tree (.bench-cache/, gitignored) is all it takes.
//
//   import { findBun } from './lib/bun.mjs';
//   const bun = await findBun();   // { path, version } or { skipped: 'reason' }
//
// WSX_BENCH_BUN=0 skips Bun; WSX_BENCH_BUN=/path/to/bun uses that binary instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The Bun release the benchmarks compare against (issue 17: uWebSockets under Bun.serve). */
export const BUN_VERSION = '1.4.5';

/** Where benchmark helpers install what they fetch on demand (gitignored). */
export const CACHE_DIR = fileURLToPath(new URL('../../.bench-cache/', import.meta.url));

let cached = null;

function version(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return null;
  return r.stdout.trim();
}

/**
 * Finds or installs Bun. Resolves with `{ path, version }`, or `{ skipped }` with the reason
 * when Bun cannot run here (other platform, no registry, WSX_BENCH_BUN=0 …). Never throws.
 */
export async function findBun() {
  if (cached !== null) return cached;
  cached = locate();
  return cached;
}

function locate() {
  const env = process.env.WSX_BENCH_BUN;
  if (env === '0' || env === 'false') return { skipped: 'WSX_BENCH_BUN=0' };
  if (env !== undefined && env !== '' && env !== '1') {
    const v = version(env);
    return v === null ? { skipped: `WSX_BENCH_BUN=${env} does not run` } : { path: env, version: v };
  }
  // The prebuilt package exists for linux-x64 and a few others; the x64 one is what we pin.
  const pkg = platform() === 'linux' && arch() === 'x64' ? '@oven/bun-linux-x64' : platform() === 'linux' && arch() === 'arm64' ? '@oven/bun-linux-aarch64' : null;
  if (pkg === null) return { skipped: `no prebuilt Bun package for ${platform()}-${arch()}` };
  const prefix = `${CACHE_DIR}bun-${BUN_VERSION}`;
  const bin = `${prefix}/node_modules/${pkg}/bin/bun`;
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    process.stderr.write(`bench: installing ${pkg}@${BUN_VERSION} into ${prefix} (once) ...\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, `${pkg}@${BUN_VERSION}`], { encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0 || !existsSync(bin)) {
      const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-1)[0];
      return { skipped: `could not install ${pkg}@${BUN_VERSION}: ${why}` };
    }
  }
  const v = version(bin);
  if (v === null) return { skipped: `${bin} does not run` };
  return { path: bin, version: v };
}
