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
exit 0, 1011 otherwise, with "exit N" or "signal NAME" as the reason). The command's
stderr goes to wsx's stderr. Binary messages are written to stdin as they are.

Options:
  --port <n>      port (default 8080; 0 picks a free port)
  --host <addr>   address (default 127.0.0.1)
  --max <n>       at most n processes at once; further connections get 503 (default 16)
  --quiet         log errors only
  --log <format>  log lines as text (default) or json
  -h, --help      show this help

Examples:
  wsx exec -- cat
  wsx exec --max 4 --port 9000 -- python3 -u bot.py`;

/** Per-connection state: the process, and whether the handshake still holds a reservation. */
interface Session {
  child: ChildProcess | null;
  reserved: boolean;
}

const NEWLINE = Buffer.from("\n");

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
  if (positionals.length > 0) throw new UsageError(`put the command after "--": wsx exec [options] -- ${positionals.join(" ")}`);
  if (command.length === 0) throw new UsageError("a command is required: wsx exec -- <command> [args...]");
  const port = intOption("port", values.port, 8080, 0, 65535);
  const max = intOption("max", values.max, 16, 1);
  if (values.log !== undefined && values.log !== "json" && values.log !== "text") throw new UsageError(`--log must be "json" or "text", got "${values.log}"`);
  const log = createLogger({ quiet: values.quiet, json: values.log === "json" });
  // Processes alive (until they have exited, not just until their connection closed).
  let processes = 0;
  // Handshakes admitted by the upgrade hook whose `open` has not run yet. The server calls
  // `open` in the same turn of the event loop, so a reservation lapses at the next one
  // (the socket died meanwhile).
  let reserved = 0;

  const wss = new WebSocketServer<Session>({
    port,
    host: values.host ?? "127.0.0.1",
    upgrade: () => {
      if (processes + reserved >= max) throw new HandshakeError(503, `at most ${max} processes at once`);
      const session: Session = { child: null, reserved: true };
      reserved++;
      setImmediate(() => release(session));
      return session;
    },
    open(ws) {
      release(ws.data);
      const child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
      ws.data.child = child;
      processes++;
      log.info("spawn", { pid: child.pid, remote: ws.remoteAddress, command: command.join(" ") });
      child.stdin!.on("error", () => {}); // EPIPE once the process is gone
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on("line", (line) => void ws.send(line));
      let exited = false;
      const exit = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (exited) return;
        exited = true;
        processes--;
        log.info("exit", { pid: child.pid, code, signal });
        // "close" comes after stdout has ended, so every line has been sent before this.
        ws.close(code === 0 ? 1000 : 1011, signal !== null ? `signal ${signal}` : `exit ${code}`);
      };
      child.on("error", (err) => {
        log.error("spawn-error", { command: command[0], message: err.message });
        if (child.pid === undefined) {
          exited = true;
          processes--;
          ws.close(1011, "cannot start the command");
        }
      });
      child.on("close", exit);
      // A grandchild holding stdout open would delay "close" forever: do not wait long.
      child.on("exit", (code, signal) => setTimeout(() => exit(code, signal), 1000).unref());
    },
    message(ws, data) {
      // One message, one line on stdin.
      const stdin = ws.data.child?.stdin;
      if (stdin && stdin.writable) stdin.write(Buffer.concat([data, NEWLINE]));
    },
    close(ws, code, reason) {
      release(ws.data);
      const child = ws.data.child;
      log.info("close", { remote: ws.remoteAddress, code, reason, pid: child?.pid });
      if (child !== null && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        // A process ignoring SIGTERM is killed for good after a moment.
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        }, 2000).unref();
      }
    },
  });
  wss.on("error", (err: Error) => log.error("server", { message: err.message }));
  const release = (session: Session): void => {
    if (!session.reserved) return;
    session.reserved = false;
    reserved--;
  };
  try {
    await wss.ready();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new Error(`port ${port} is already in use (choose another with --port, or --port 0 for any free port)`);
    throw err;
  }
  const a = wss.address() as AddressInfo;
  process.stdout.write(`wsx exec: listening on ws://${a.address}:${a.port}/ running ${command.join(" ")}\n`);
  return new Promise<number>((resolve) => {
    // Closing the connections kills their processes (the close handler).
    const stop = (): void => void wss.close().then(() => resolve(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
