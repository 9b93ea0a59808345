/**
 * `wsx connect <url>`: an interactive WebSocket client like wscat, and a scriptable one when
 * standard input is not a terminal.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { clientFailure, pingClient, WebSocket } from "../client/websocket.js";
import type { WebSocketOptions } from "../client/options.js";
import { describeFailure } from "./describe-error.js";
import { numberOption, UsageError } from "./usage.js";

export const CONNECT_HELP = `Usage: wsx connect <url> [options]

Interactive (a terminal): type a line to send it; output lines carry a timestamp, and
received messages are marked "<", sent ones ">". Commands: /ping [data],
/close [code] [reason], /binary <hex>, /quit (or Ctrl-D, Ctrl-C).
From a pipe: sends each input line (or the whole input with --whole); when the input ends,
waits --wait seconds and then until the server has been quiet for 200 ms, closes, and
exits when the close handshake is done.
Exit status: 0 after a clean close (1000, 1001, 1005, or one we started), 1 otherwise
(the close code and reason are printed) or when the server cannot be reached, 2 for bad
arguments.

Options:
  --protocol <p>        offer a subprotocol (repeatable)
  -H, --header <h>      "Name: value" request header (repeatable)
  --origin <origin>     send an Origin header
  --insecure            do not verify the server's TLS certificate
  --ca <file>           trust this CA certificate (PEM)
  --compress            offer permessage-deflate
  --ping-interval <s>   send a ping every s seconds (decimals allowed)
  --binary-as <enc>     print binary messages as hex, base64 or utf8 (default hex)
  --json                one JSON object per event on stdout
  --whole               send all of stdin as one message
  --wait <s>            keep listening s seconds after stdin ends (default 0)
  -h, --help            show this help

Examples:
  wsx connect ws://127.0.0.1:8080/echo
  echo '{"type":"join","room":"lobby","name":"bot"}' | wsx connect ws://127.0.0.1:8080/chat --wait 2
  wsx connect wss://example.com/socket --protocol chat.v1 -H "Authorization: Bearer t" --json`;

/** How long the server must stay quiet after the input ends before a piped connect closes. */
const QUIET_MS = 200;

/** Runs `wsx connect`. */
export async function connect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      protocol: { type: "string", multiple: true },
      header: { type: "string", short: "H", multiple: true },
      origin: { type: "string" },
      insecure: { type: "boolean" },
      ca: { type: "string" },
      compress: { type: "boolean" },
      "ping-interval": { type: "string" },
      "binary-as": { type: "string" },
      json: { type: "boolean" },
      whole: { type: "boolean" },
      wait: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(CONNECT_HELP + "\n");
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected exactly one URL: wsx connect <url>");
  const binaryAs = values["binary-as"] ?? "hex";
  if (binaryAs !== "hex" && binaryAs !== "base64" && binaryAs !== "utf8") throw new UsageError(`--binary-as must be hex, base64 or utf8, got "${binaryAs}"`);
  const pingInterval = numberOption("ping-interval", values["ping-interval"], 0, 0, 86_400);
  const wait = numberOption("wait", values.wait, 0, 0, 86_400);
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(":");
    // RFC 9110 §5.1: a field name is a token.
    if (i <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.slice(0, i).trim())) throw new UsageError(`a header must look like "Name: value", got "${h}"`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const options: WebSocketOptions = { headers, origin: values.origin, perMessageDeflate: values.compress === true };
  if (values.insecure) options.rejectUnauthorized = false;
  if (values.ca !== undefined) {
    try {
      options.ca = readFileSync(values.ca);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${values.ca} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  const url = positionals[0];
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, values.protocol ?? [], options);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  ws.binaryType = "arraybuffer";
  const json = values.json === true;
  const interactive = process.stdin.isTTY === true && !json;
  const stamp = (): string => new Date().toISOString().slice(11, 23);
  // In a terminal, output must not clobber the line being typed: clear it, print, redraw it.
  let prompt: ReturnType<typeof createInterface> | null = null;
  const emit = (event: Record<string, unknown>, text: string): void => {
    if (json) {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n");
    } else if (prompt !== null) {
      process.stdout.write(`\r\x1b[K${stamp()} ${text}\n`);
      prompt.prompt(true);
    } else {
      process.stdout.write(`${stamp()} ${text}\n`);
    }
  };
  const show = (data: string | ArrayBuffer): string =>
    typeof data === "string" ? data : Buffer.from(data).toString(binaryAs as BufferEncoding);

  return new Promise<number>((resolve) => {
    let opened = false;
    let closedByUs = false;
    const close = (code?: number, reason?: string): void => {
      ws.close(code, reason); // throws on a bad code or reason (WHATWG close() steps 1-2)
      closedByUs = true;
    };
    let lastMessageAt = 0;
    let pinger: NodeJS.Timeout | null = null;
    ws.onopen = () => {
      opened = true;
      emit({ event: "open", url: ws.url, protocol: ws.protocol, extensions: ws.extensions }, `connected to ${ws.url}${ws.protocol ? ` (protocol ${ws.protocol})` : ""}`);
      if (pingInterval > 0) pinger = setInterval(() => pingClient(ws), pingInterval * 1000);
      if (interactive) startInteractive();
      else startPiped();
    };
    ws.onmessage = (e: { data: string | ArrayBuffer }) => {
      lastMessageAt = Date.now();
      const binary = typeof e.data !== "string";
      emit({ event: "message", binary, data: show(e.data) }, `< ${binary ? `[binary ${binaryAs}] ` : ""}${show(e.data)}`);
    };
    ws.onclose = (e: { code: number; reason: string; wasClean: boolean }) => {
      if (pinger !== null) clearInterval(pinger);
      if (prompt !== null) {
        // Leave the terminal on a clean line: no prompt after the last output.
        const rl = prompt;
        prompt = null;
        process.stdout.write("\r\x1b[K");
        rl.close();
      }
      if (!opened) {
        const why = describeFailure(clientFailure(ws), url);
        if (json) emit({ event: "error", message: why }, why);
        process.stderr.write(`wsx: ${why}\n`);
        resolve(1);
        return;
      }
      emit({ event: "close", code: e.code, reason: e.reason, wasClean: e.wasClean }, `closed: ${e.code}${e.reason ? ` ${e.reason}` : ""}${e.wasClean ? "" : " (not clean)"}`);
      // 1000 Normal Closure, 1001 Going Away, 1005 No Status Received (RFC 6455 §7.4.1).
      // A clean close we asked for (end of input, /close, /quit, Ctrl-D) is normal with any code.
      const normal = e.wasClean && (closedByUs || e.code === 1000 || e.code === 1005 || e.code === 1001);
      if (!normal) process.stderr.write(`wsx: connection closed abnormally: code ${e.code}${e.reason ? ` "${e.reason}"` : ""}${e.wasClean ? "" : " (not clean)"}\n`);
      // Input still open (e.g. `cat | wsx connect`) must not keep the process alive.
      process.stdin.destroy();
      resolve(normal ? 0 : 1);
    };

    function startInteractive(): void {
      const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
      prompt = rl;
      rl.prompt();
      rl.on("line", (line) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (!handleCommand(line)) {
          ws.send(line);
          // The typed line stays on screen after the "> " prompt: that is the sent mark.
        }
        if (ws.readyState === WebSocket.OPEN) rl.prompt();
      });
      // Ctrl-D / Ctrl-C: close normally.
      rl.on("close", () => {
        prompt = null;
        if (ws.readyState === WebSocket.OPEN) close(1000);
      });
      rl.on("SIGINT", () => rl.close());
      ws.addEventListener("close", () => {
        prompt = null;
        rl.close();
      });
    }

    function handleCommand(line: string): boolean {
      if (!line.startsWith("/")) return false;
      const [cmd, ...args] = line.split(" ");
      if (cmd === "/ping") {
        const data = args.join(" ");
        // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
        if (Buffer.byteLength(data) > 125) process.stderr.write("wsx: a ping carries at most 125 bytes\n");
        else if (pingClient(ws, data)) emit({ event: "ping", data }, `> [ping] ${data}`);
      } else if (cmd === "/close") {
        const code = args[0] === undefined ? 1000 : Number(args[0]);
        try {
          close(code, args.slice(1).join(" "));
        } catch (err) {
          process.stderr.write(`wsx: ${(err as Error).message}\n`);
        }
      } else if (cmd === "/binary") {
        const hex = args.join("").replace(/\s+/g, "");
        if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
          process.stderr.write("wsx: /binary takes hex bytes, e.g. /binary 00ff10\n");
        } else {
          const bytes = Buffer.from(hex, "hex");
          ws.send(bytes);
          emit({ event: "sent", binary: true, data: bytes.toString(binaryAs as BufferEncoding) }, `> [binary ${binaryAs}] ${bytes.toString(binaryAs as BufferEncoding)}`);
        }
      } else if (cmd === "/quit") {
        close(1000);
      } else {
        return false;
      }
      return true;
    }

    function startPiped(): void {
      // After the input ends: wait --wait seconds, then until the server has been quiet for
      // QUIET_MS (replies still on their way would be lost once we close: WHATWG drops
      // messages that arrive after close()), then close.
      const finish = (): void => {
        const quietClose = (): void => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const idle = Date.now() - lastMessageAt;
          if (idle >= QUIET_MS && ws.bufferedAmount === 0) close(1000);
          else setTimeout(quietClose, Math.max(10, QUIET_MS - idle));
        };
        setTimeout(() => {
          lastMessageAt = Math.max(lastMessageAt, Date.now() - QUIET_MS + 50);
          quietClose();
        }, wait * 1000);
      };
      if (values.whole) {
        const chunks: Buffer[] = [];
        process.stdin.on("data", (d: Buffer) => chunks.push(d));
        process.stdin.on("end", () => {
          const whole = Buffer.concat(chunks).toString();
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(whole);
            emit({ event: "sent", binary: false, data: whole }, `> ${whole}`);
          }
          finish();
        });
        return;
      }
      const rl = createInterface({ input: process.stdin });
      rl.on("line", (line) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (!handleCommand(line)) {
          ws.send(line);
          emit({ event: "sent", binary: false, data: line }, `> ${line}`);
        }
      });
      rl.on("close", finish);
    }
  });
}
