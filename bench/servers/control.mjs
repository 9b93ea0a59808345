// Shared by the server children: prints the ready line (JSON with the port) on stdout, then
// answers commands read line by line on stdin:
//   stats  -> {"type":"stats","mem":process.memoryUsage() after gc,"cpu":process.cpuUsage(),...}
//   exit   -> exits normally (so --cpu-prof writes its profile)
// Run with --expose-gc so memory is measured after a full collection (under Bun: Bun.gc).
import { createInterface } from 'node:readline';

/**
 * @param {object} ready fields of the ready line (port, impl, details)
 * @param {() => object} extra more fields for each stats answer (clients, dropped, ...)
 * @param {() => Promise<void> | void} shutdown called on "exit" or stdin end
 * @param {Record<string, () => object>} [commands] more commands: each answers with the
 *   object it returns (printed as one JSON line)
 */
export function serveControl(ready, extra, shutdown, commands = {}) {
  const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  out({ type: 'ready', pid: process.pid, ...ready });
  const rl = createInterface({ input: process.stdin });
  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    rl.close();
    // Do not wait for close handshakes: the orchestrator has already stopped the load.
    setTimeout(() => process.exit(0), 200).unref();
    try {
      await shutdown();
    } catch {}
    process.exit(0);
  };
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'stats') {
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      } else if (typeof globalThis.Bun?.gc === 'function') {
        globalThis.Bun.gc(true);
      }
      out({ type: 'stats', mem: process.memoryUsage(), cpu: process.cpuUsage(), ...extra() });
    } else if (cmd === 'exit') {
      exit();
    } else if (Object.hasOwn(commands, cmd)) {
      out(commands[cmd]());
    }
  });
  rl.on('close', exit);
}

export const hasFlag = (name) => process.argv.includes(name);
