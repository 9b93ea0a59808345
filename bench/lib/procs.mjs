// Child processes of the benchmark: server children (bench/servers/*.mjs) pinned to one CPU
// and load children (bench/load/*.mjs) pinned to another, talking JSON lines on stdio.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Children still running, so an interrupted run can end them. */
const live = new Set();

/** Kills every child this module started that is still running (on SIGINT/SIGTERM). */
export function killChildren() {
  for (const proc of live) proc.kill('SIGKILL');
  live.clear();
}

let tasksetOk = null;
/** Whether `taskset` works here (Linux with util-linux) and there are at least 2 CPUs. */
export function canPin(cpus) {
  if (tasksetOk === null) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetOk = r.status === 0;
  }
  return tasksetOk && cpus >= 2;
}

function command(nodeArgs, cpu, exe = process.execPath) {
  if (cpu === null || cpu === undefined) return [exe, nodeArgs];
  return ['taskset', ['-c', String(cpu), exe, ...nodeArgs]];
}

/** A child speaking JSON lines on stdout; `next(pred)` waits for the next matching line. */
class LineChild {
  constructor(proc, label) {
    this.proc = proc;
    this.label = label;
    this.waiters = [];
    this.backlog = [];
    this.stderr = '';
    this.exited = false;
    live.add(proc);
    // The child may exit before reading what we send it (EPIPE): that is not an error here.
    proc.stdin.on('error', () => {});
    proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      const i = this.waiters.findIndex((w) => w.pred(msg));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(msg);
      } else this.backlog.push(msg);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(proc);
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.label} exited (${signal ?? code}) ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
      }
    });
  }

  next(pred, timeoutMs) {
    const i = this.backlog.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0]);
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited: ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  send(line) {
    if (!this.exited && this.proc.stdin.writable) this.proc.stdin.write(line + '\n');
  }

  /** Asks politely, then kills after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 3000) {
    if (this.exited) return;
    const exited = once(this.proc, 'exit');
    this.send(this.label.startsWith('server') ? 'exit' : 'stop');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }
}

/**
 * Starts a server child: `bench/servers/<file>` with --expose-gc (and --cpu-prof when asked,
 * and `nodeFlags`); with `bun` (a path to the bun binary) it runs under Bun instead.
 * Resolves with the child once it printed its ready line ({port, ...}).
 */
export async function startServer(file, args, { cpu = null, cpuProfDir = null, nodeFlags = [], bun = null, env = null } = {}) {
  const nodeArgs = bun === null ? ['--expose-gc', ...nodeFlags] : [];
  if (cpuProfDir !== null && bun === null) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', cpuProfDir);
  nodeArgs.push(here(`../servers/${file}`), ...args);
  const [cmd, argv] = command(nodeArgs, cpu, bun ?? process.execPath);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: env === null ? process.env : { ...process.env, ...env } });
  const child = new LineChild(proc, `server ${file}`);
  child.ready = await child.next((m) => m.type === 'ready', 15_000);
  child.port = child.ready.port;
  return child;
}

/** Asks a server child for {mem, cpu, clients, ...} (after gc). */
export function serverStats(server) {
  server.send('stats');
  return server.next((m) => m.type === 'stats', 15_000);
}

/** Starts a load child: `bench/load/<file>` with the given arguments. */
export function startLoad(file, args, { cpu = null, env = null } = {}) {
  const [cmd, argv] = command([here(`../load/${file}`), ...args], cpu);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: env === null ? process.env : { ...process.env, ...env } });
  return new LineChild(proc, `load ${file}`);
}
