// The C load generator `wsl` (shared/tools/wsl/wsl.c, beside the repository as ../shared in
// the team's layout), compiled on demand with gcc into .bench-cache/. The benchmarks use it
// when it is there (one epoll thread in C: the load never limits the server), else the Node
// load generator in bench/load/.
//
//   import { findWsl } from './lib/wsl.mjs';
//   const wsl = findWsl();   // { path, source } or { skipped: 'reason' }
//
// WSX_BENCH_WSL=0 forces the Node load generator; WSX_BENCH_WSL=/path/to/wsl.c uses that source.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from './bun.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));

function source() {
  const env = process.env.WSX_BENCH_WSL;
  if (env !== undefined && env !== '' && env !== '1') return existsSync(env) ? env : null;
  // ../shared/tools/wsl/wsl.c from the repository or any directory above it (worktrees).
  for (let dir = repo; ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'tools', 'wsl', 'wsl.c');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

let cached = null;

/** Finds (and builds, once) the C load generator; never throws. */
export function findWsl() {
  if (cached !== null) return cached;
  cached = locate();
  return cached;
}

function locate() {
  if (process.env.WSX_BENCH_WSL === '0') return { skipped: 'WSX_BENCH_WSL=0' };
  const src = source();
  if (src === null) return { skipped: 'shared/tools/wsl/wsl.c not found beside the repository' };
  const bin = join(CACHE_DIR, 'wsl');
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const r = spawnSync('gcc', ['-O2', '-o', bin, src], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) return { skipped: `gcc failed on ${src}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}` };
  }
  return { path: bin, source: src };
}
