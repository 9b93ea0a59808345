/**
 * `wsx connect <url>`: an interactive WebSocket client like wscat, and a scriptable one when
 * standard input is not a terminal.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { clientFailure, clientHttpVersion, pingClient, WebSocket } from "../client/websocket.js";
import type { WebSocketOptions } from "../client/options.js";
import { describeFailure } from "./describe-error.js";
import { intOption, numberOption, UsageError } from "./usage.js";

export const CONNECT_HELP = `Usage: wsx connect <url> [options]

Interactive (a terminal): type a line to send it; output lines carry a timestamp, and
received messages are marked "<", sent ones ">". Commands: /ping [data] (shows the pong
and its round trip), /close [code] [reason], /binary <hex>, /quit (or Ctrl-D, Ctrl-C),
/help. A line starting with "//" is sent as text without its first "/".
From a pipe: sends each input line (or the whole input with --whole; the same commands
apply), then keeps listening until the server closes the connection, --replies messages
have arrived, or --wait seconds have passed since the input ended. If the reader of our
output goes away (| head -1), closes normally and exits 0.
Exit status: 0 after a clean close (1000, 1001, 1005, or one we started: /close, /quit,
Ctrl-D, --replies), 1 otherwise (the close code and reason are printed) or when the
server cannot be reached or refuses the handshake (its status and body are printed),
2 for bad arguments, 3 when --wait ran out before the server closed (replies after that
point are lost).

Options:
  --protocol <p>        offer a subprotocol (repeatable)
  -H, --header <h>      "Name: value" request header (repeatable)
  --origin <origin>     send an Origin header
  --insecure            do not verify the server's TLS certificate
  --ca <file>           trust this CA certificate (PEM)
  --compress            offer permessage-deflate
  --http2               open the WebSocket over HTTP/2 (RFC 8441), falling back to
                        HTTP/1.1 when the server does not accept it
  --ping-interval <s>   send a ping every s seconds (decimals allowed)
  --binary-as <enc>     print binary messages as hex, base64 or utf8 (default hex)
  --json                one JSON object per event on stdout
  --whole               send all of stdin as one message
  --replies <n>         piped: close once n messages have arrived and the input has ended
  --wait <s>            piped: close s seconds after the input ends if the server has not
                        closed by then, and exit 3 (default: wait for the server)
  -h, --help            show this help

Examples:
  wsx connect ws://127.0.0.1:8080/echo
  echo hello | wsx connect ws://127.0.0.1:8080/echo --replies 1
  echo '{"type":"join","room":"lobby","name":"bot"}' | wsx connect ws://127.0.0.1:8080/chat --replies 2
  wsx connect wss://example.com/socket --protocol chat.v1 -H "Authorization: Bearer t" --json
  wsx connect wss://localhost:8443/ --http2 --insecure`;

/** Exit status when --wait ran out before the server closed: replies may have been lost. */
const EXIT_TIMED_OUT = 3;

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
      http2: { type: "boolean" },
      "ping-interval": { type: "string" },
      "binary-as": { type: "string" },
      json: { type: "boolean" },
      whole: { type: "boolean" },
      wait: { type: "string" },
      replies: { type: "string" },
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
  const wait = values.wait === undefined ? null : numberOption("wait", values.wait, 0, 0, 86_400);
  const replies = values.replies === undefined ? null : intOption("replies", values.replies, 0, 1);
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(":");
    // RFC 9110 §5.1: a field name is a token.
    if (i <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.slice(0, i).trim())) throw new UsageError(`a header must look like "Name: value", got "${h}"`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const options: WebSocketOptions = { headers, origin: values.origin, perMessageDeflate: values.compress === true };
  if (values.insecure) options.rejectUnauthorized = false;
  if (values.http2) options.http2 = true;
  if (values.ca !== undefined) {
    try {
      options.ca = readFileSync(values.ca);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${values.ca} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  const url = positionals[0];
  // Pongs are shown when they answer a /ping (pings sent by --ping-interval stay quiet).
  const pendingPings: Array<{ data: string; at: number }> = [];
  options.onPong = (data: Buffer) => {
    const text = data.toString("utf8");
    const i = pendingPings.findIndex((p) => p.data === text);
    if (i === -1) return;
    const ms = performance.now() - pendingPings[i].at;
    pendingPings.splice(i, 1);
    emit({ event: "pong", data: text, ms: Number(ms.toFixed(3)) }, `< [pong] ${text}${text ? " " : ""}(${ms.toFixed(1)} ms)`);
  };
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
  // The reader of our output went away (`| head -1`): stop writing, close normally.
  let outputGone = false;
  // In a terminal, output must not clobber the line being typed: clear it, print, redraw it.
  let prompt: ReturnType<typeof createInterface> | null = null;
  const emit = (event: Record<string, unknown>, text: string): void => {
    if (outputGone) return;
    if (json) {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n");
    } else if (prompt !== null) {
      process.stdout.write(`\r\x1b[K${stamp()} ${text}\n`);
      prompt.prompt(true);
    } else {
      process.stdout.write(`${stamp()} ${text}\n`);
    }
  };
  /** A note for the person (help, mistakes): on the terminal when interactive, else stderr. */
  const note = (text: string): void => {
    if (prompt !== null) {
      process.stdout.write(`\r\x1b[K${text}\n`);
      prompt.prompt(true);
    } else {
      process.stderr.write(`wsx: ${text}\n`);
    }
  };
  const show = (data: string | ArrayBuffer): string =>
    typeof data === "string" ? data : Buffer.from(data).toString(binaryAs as BufferEncoding);

  return new Promise<number>((resolve) => {
    let opened = false;
    let closedByUs = false;
    let timedOut = false;
    let inputEnded = false;
    let received = 0;
    const close = (code?: number, reason?: string): void => {
      ws.close(code, reason); // throws on a bad code or reason (WHATWG close() steps 1-2)
      closedByUs = true;
    };
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" || outputGone) return;
      outputGone = true;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) close(1000);
    });
    let pinger: NodeJS.Timeout | null = null;
    let waitTimer: NodeJS.Timeout | null = null;
    ws.onopen = () => {
      opened = true;
      const http = clientHttpVersion(ws) ?? "1.1";
      emit({ event: "open", url: ws.url, protocol: ws.protocol, extensions: ws.extensions, http }, `connected to ${ws.url}${ws.protocol ? ` (protocol ${ws.protocol})` : ""}${http === "2" ? " over HTTP/2" : ""}`);
      if (pingInterval > 0) pinger = setInterval(() => pingClient(ws), pingInterval * 1000);
      if (interactive) startInteractive();
      else startPiped();
    };
    ws.onmessage = (e: { data: string | ArrayBuffer }) => {
      received++;
      const binary = typeof e.data !== "string";
      emit({ event: "message", binary, data: show(e.data) }, `< ${binary ? `[binary ${binaryAs}] ` : ""}${show(e.data)}`);
      closeIfAnswered();
    };
    ws.onclose = (e: { code: number; reason: string; wasClean: boolean }) => {
      if (pinger !== null) clearInterval(pinger);
      if (waitTimer !== null) clearTimeout(waitTimer);
      if (prompt !== null) {
        // Leave the terminal on a clean line: no prompt after the last output.
        const rl = prompt;
        prompt = null;
        process.stdout.write("\r\x1b[K");
        rl.close();
      }
      // Input still open (e.g. `cat | wsx connect`) must not keep the process alive.
      process.stdin.destroy();
      if (outputGone) {
        resolve(0);
        return;
      }
      if (!opened) {
        const why = describeFailure(clientFailure(ws), url);
        if (json) emit({ event: "error", message: why }, why);
        process.stderr.write(`wsx: ${why}\n`);
        resolve(1);
        return;
      }
      emit({ event: "close", code: e.code, reason: e.reason, wasClean: e.wasClean }, `closed: ${e.code}${e.reason ? ` ${e.reason}` : ""}${e.wasClean ? "" : " (not clean)"}`);
      if (timedOut && e.wasClean) {
        process.stderr.write(`wsx: the server had not closed ${wait} s after the input ended; closed by us, so replies after that are lost\n`);
        resolve(EXIT_TIMED_OUT);
        return;
      }
      // 1000 Normal Closure, 1001 Going Away, 1005 No Status Received (RFC 6455 §7.4.1).
      // A clean close we asked for (/close, /quit, Ctrl-D, --replies) is normal with any code.
      const normal = e.wasClean && (closedByUs || e.code === 1000 || e.code === 1005 || e.code === 1001);
      if (!normal) process.stderr.write(`wsx: connection closed abnormally: code ${e.code}${e.reason ? ` "${e.reason}"` : ""}${e.wasClean ? "" : " (not clean)"}\n`);
      resolve(normal ? 0 : 1);
    };

    /** Piped: --replies messages have arrived after the input ended. */
    function closeIfAnswered(): void {
      if (inputEnded && replies !== null && received >= replies && ws.readyState === WebSocket.OPEN) close(1000);
    }

    function startInteractive(): void {
      const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
      prompt = rl;
      rl.prompt();
      rl.on("line", (line) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const text = handleCommand(line);
        // The typed line stays on screen after the "> " prompt: that is the sent mark.
        if (text !== null) ws.send(text);
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

    /** Runs a slash command; returns the text to send for a line that is not one, else null. */
    function handleCommand(line: string): string | null {
      if (!line.startsWith("/")) return line;
      // "//..." escapes a text line that starts with "/".
      if (line.startsWith("//")) return line.slice(1);
      const [cmd, ...args] = line.split(" ");
      switch (cmd) {
        case "/ping": {
          const data = args.join(" ");
          // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
          if (Buffer.byteLength(data) > 125) note("a ping carries at most 125 bytes");
          else if (pingClient(ws, data)) {
            pendingPings.push({ data, at: performance.now() });
            emit({ event: "ping", data }, `> [ping] ${data}`);
          }
          break;
        }
        case "/close": {
          const code = args[0] === undefined ? 1000 : Number(args[0]);
          try {
            close(code, args.slice(1).join(" "));
          } catch (err) {
            note((err as Error).message);
          }
          break;
        }
        case "/binary": {
          const hex = args.join("").replace(/\s+/g, "");
          if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
            note("/binary takes hex bytes, e.g. /binary 00ff10");
          } else {
            const bytes = Buffer.from(hex, "hex");
            ws.send(bytes);
            emit({ event: "sent", binary: true, data: bytes.toString(binaryAs as BufferEncoding) }, `> [binary ${binaryAs}] ${bytes.toString(binaryAs as BufferEncoding)}`);
          }
          break;
        }
        case "/quit":
          close(1000);
          break;
        case "/help":
          note(COMMANDS_HELP);
          break;
        default:
          note(`unknown command ${cmd}: not sent (/help lists the commands; start the line with "//" to send it as text)`);
      }
      return null;
    }

    function startPiped(): void {
      // After the input ends: wait for the server to close, for --replies messages, or for
      // --wait seconds. Closing earlier would lose replies still on their way (WHATWG drops
      // messages that arrive after close()).
      const finish = (): void => {
        inputEnded = true;
        closeIfAnswered();
        if (wait !== null && ws.readyState === WebSocket.OPEN) {
          waitTimer = setTimeout(() => {
            if (ws.readyState !== WebSocket.OPEN) return;
            timedOut = true;
            close(1000);
          }, wait * 1000);
        }
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
        const text = handleCommand(line);
        if (text !== null) {
          ws.send(text);
          emit({ event: "sent", binary: false, data: text }, `> ${text}`);
        }
      });
      rl.on("close", finish);
    }
  });
}

/** The interactive commands, as /help shows them. */
const COMMANDS_HELP = `commands:
  /ping [data]            send a ping; the pong is shown with its round-trip time
  /close [code] [reason]  start the close handshake (default 1000)
  /binary <hex>           send bytes as a binary message, e.g. /binary 00ff10
  /quit                   close with 1000 and exit (also Ctrl-D, Ctrl-C)
  /help                   this list
  //text                  send "/text" as a text message`;
