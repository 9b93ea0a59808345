/**
 * `wsx exec`: each WebSocket connection runs a command; incoming messages go to its stdin
 * as lines, its stdout lines come back as text messages (what websocketd offers).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { HandshakeError } from "../protocol/errors.js";
import { WebSocketServer } from "../server/server.js";
import { createLogger } from "./log.js";
import { intOption, UsageError } from "./usage.js";

export const EXEC_HELP = `Usage: wsx exec [options] -- <command> [args...]

Runs <command> for each WebSocket connection: every incoming message is written to its
stdin as a line, every line it prints is sent as a text message. The process is killed
when the connection closes; the connection closes when the process exits (code 1000 for
exit 0, 1011 otherwise, with "exit N" as the reason).

Options:
  --port <n>      port (default 8080; 0 picks a free port)
  --host <addr>   address (default 127.0.0.1)
  --max <n>       at most n processes at once; further connections get 503 (default 16)
  --quiet         log errors only
  --log json      log JSON lines
  -h, --help      show this help

Examples:
  wsx exec -- cat
  wsx exec --max 4 --port 9000 -- python3 -u bot.py`;

/** Runs `wsx exec`. */
export async function exec(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: own,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      max: { type: "string" },
      quiet: { type: "boolean" },
      log: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(EXEC_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0 && command.length === 0) throw new UsageError('put the command after "--": wsx exec -- <command> [args...]');
  if (command.length === 0) throw new UsageError("a command is required: wsx exec -- <command> [args...]");
  const port = intOption("port", values.port, 8080, 0, 65535);
  const max = intOption("max", values.max, 16, 1);
  const log = createLogger({ quiet: values.quiet, json: values.log === "json" });
  let running = 0;

  const wss = new WebSocketServer<{ child: ChildProcess | null }>({
    port,
    host: values.host ?? "127.0.0.1",
    upgrade: () => {
      if (running >= max) throw new HandshakeError(503, `at most ${max} processes at once`);
      running++;
      return { child: null };
    },
    open(ws) {
      const child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
      ws.data.child = child;
      log.info("spawn", { pid: child.pid, command: command.join(" ") });
      child.stdin!.on("error", () => {});
      createInterface({ input: child.stdout! }).on("line", (line) => void ws.send(line));
      child.on("error", (err) => {
        log.error("spawn-error", { message: err.message });
        ws.close(1011, "cannot start the command");
      });
      child.on("exit", (code, signal) => {
        // Let the last stdout lines go out first (readline emits them before 'close').
        setImmediate(() => ws.close(code === 0 ? 1000 : 1011, signal ? `signal ${signal}` : `exit ${code}`));
      });
    },
    message(ws, data) {
      ws.data.child?.stdin?.write(Buffer.concat([data, Buffer.from("\n")]));
    },
    close(ws, code) {
      running--;
      const child = ws.data.child;
      if (child !== null && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      log.info("close", { code });
    },
  });
  await wss.ready();
  const a = wss.address() as AddressInfo;
  process.stdout.write(`wsx exec: listening on ws://${a.address}:${a.port}/ running ${command.join(" ")}\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => void wss.close().then(() => resolve(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
