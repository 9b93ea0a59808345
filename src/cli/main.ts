#!/usr/bin/env node
/**
 * The `wsx` command: serve, exec, connect, bench.
 */
import { readFileSync } from "node:fs";
import { exec } from "./exec.js";
import { serve } from "./serve.js";
import { UsageError } from "./usage.js";

const HELP = `Usage: wsx <command> [options]

Commands:
  serve              WebSocket server with a browser chat demo, /echo and /health
  connect <url>      talk to a WebSocket server (interactive, or from stdin)
  exec -- <cmd>      run a command per connection, messages as stdin/stdout lines
  bench <url> [url]  measure messages/s and round-trip latency

Options:
  -h, --help         help (also: wsx <command> --help)
  -v, --version      version

Examples:
  wsx serve --port 8080
  wsx connect ws://127.0.0.1:8080/echo
  echo hello | wsx connect ws://127.0.0.1:8080/echo
  wsx exec -- cat
  wsx bench ws://127.0.0.1:8080/echo -c 50 -t 5`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      // "wsx help <command>" is "wsx <command> --help".
      if (command === "help" && rest.length > 0) return main([rest[0], "--help"]);
      process.stdout.write(HELP + "\n");
      return command === undefined ? 2 : 0;
    case "-v":
    case "--version":
      process.stdout.write(version() + "\n");
      return 0;
    case "serve":
      return serve(rest);
    case "exec":
      return exec(rest);
    case "connect": {
      const { connect } = await import("./connect.js");
      return connect(rest);
    }
    case "bench": {
      const { bench } = await import("./bench.js");
      return bench(rest);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const COMMANDS = new Set(["serve", "connect", "exec", "bench"]);

// A reader that goes away (`wsx … | head -1`) is not an error worth a stack trace. Commands
// that hold connections handle it themselves first (connect closes normally).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") {
      if (stream.listenerCount("error") === 1) process.exit(process.exitCode ?? 0);
      return;
    }
    throw err;
  });
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
    // Servers closed, clients gone: nothing should keep us, but never hang on a stray handle.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      // One line (parseArgs explains some errors over several), and one hint.
      const hint = COMMANDS.has(argv[0]) ? `wsx ${argv[0]} --help` : "wsx --help";
      process.stderr.write(`wsx: ${(err as Error).message.split("\n")[0]} (try ${hint})\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`wsx: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
