// `wsx connect` driven from a pipe: against `wsx serve`, against an in-process server that
// records the handshake, and against servers that are not there or fail TLS.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { HandshakeError } from "../../src/protocol/errors.js";
import { WebSocketServer } from "../../src/server/server.js";
import type { UpgradeRequestMessage } from "../../src/server/pending-handshake.js";
import { spawnChild } from "../helpers/process.js";
import { selfSignedCert } from "../helpers/certs.js";
import { jsonLines, ROOT, run, serve, WSX, wsx, type Served } from "./wsx.js";

interface Event {
  event: string;
  data?: string;
  binary?: boolean;
  code?: number;
  reason?: string;
  wasClean?: boolean;
  protocol?: string;
  message?: string;
}

describe("wsx connect against wsx serve", () => {
  let server: Served;
  before(async () => {
    server = await serve(undefined, ["--quiet"]);
  });
  after(async () => {
    await server.child.kill("SIGTERM");
  });

  test("piped: sends each line, prints the echoes with marks, closes normally, exits 0", async (t) => {
    const r = await run(t, ["connect", `ws://${server.host}/echo`, "--replies", "3"], "one\ntwo\nthree\n");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} connected to ws:\/\//);
    const received = lines.filter((l) => / < /.test(l)).map((l) => l.split(" < ")[1]);
    const sent = lines.filter((l) => / > /.test(l)).map((l) => l.split(" > ")[1]);
    assert.deepEqual(sent, ["one", "two", "three"]);
    assert.deepEqual(received, ["one", "two", "three"]);
    assert.match(lines.at(-1)!, /closed: 1000/);
  });

  test("--json: one object per event; --whole sends the input as one message", async (t) => {
    const r = await run(t, ["connect", `ws://${server.host}/echo`, "--json", "--whole", "--replies", "1"], "line 1\nline 2\n");
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines<Event>(r.stdout);
    assert.deepEqual(events.map((e) => e.event), ["open", "sent", "message", "close"]);
    assert.equal(events[2].data, "line 1\nline 2\n");
    assert.equal(events[2].binary, false);
    assert.deepEqual([events[3].code, events[3].wasClean], [1000, true]);
  });

  test("binary messages are shown in the --binary-as encoding", async (t) => {
    const r = await run(t, ["connect", `ws://${server.host}/echo`, "--json", "--binary-as", "base64", "--replies", "1"], "/binary 00ff10\n");
    assert.equal(r.code, 0, r.stderr);
    const message = jsonLines<Event>(r.stdout).find((e) => e.event === "message");
    assert.deepEqual([message?.binary, message?.data], [true, Buffer.from([0, 0xff, 0x10]).toString("base64")]);
  });

  test("the chat endpoint: join, say, and the replies in order (--replies keeps listening)", async (t) => {
    const input = '{"type":"join","room":"cli","name":"bot"}\n{"type":"say","text":"hello room"}\n';
    const r = await run(t, ["connect", `ws://${server.host}/chat`, "--json", "--replies", "3"], input);
    assert.equal(r.code, 0, r.stderr);
    const replies = jsonLines<Event>(r.stdout)
      .filter((e) => e.event === "message")
      .map((e) => JSON.parse(e.data!) as { type: string; text?: string; count?: number; members?: number; name?: string });
    assert.deepEqual(replies.map((m) => m.type), ["joined", "members", "message"]);
    assert.equal(replies[0].members, 1);
    assert.equal(replies[1].count, 1);
    assert.deepEqual([replies[2].name, replies[2].text], ["bot", "hello room"]);
  });

  test("--compress negotiates permessage-deflate with wsx serve --compress", async (t) => {
    const compressed = await serve(t, ["--compress", "--quiet"]);
    const r = await run(t, ["connect", `ws://${compressed.host}/echo`, "--json", "--compress", "--replies", "1"], `${"squeeze ".repeat(100)}\n`);
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines<Event & { extensions?: string }>(r.stdout);
    assert.match(events[0].extensions ?? "", /^permessage-deflate/);
    assert.equal(events.find((e) => e.event === "message")?.data, "squeeze ".repeat(100));
  });

  test("/close <code> <reason>: the server receives them; a close we asked for exits 0", async (t) => {
    const logged = await serve(t, ["--log", "json"]);
    const r = await run(t, ["connect", `ws://${logged.host}/echo`, "--json"], "/close 4000 done\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines<Event>(r.stdout).at(-1)?.event, "close");
    const seen = await logged.child.waitForOutput((l) => {
      const e = JSON.parse(l) as { event?: string; code?: number; reason?: string };
      return e.event === "close" ? e : null;
    }, 5000, "stderr", "the server's close log line");
    assert.deepEqual([seen.code, seen.reason], [4000, "done"]);
  });

  test("an abnormal close: the code and reason are printed, exit 1", async (t) => {
    const small = await serve(t, ["--max-payload", "10", "--quiet"]);
    const r = await run(t, ["connect", `ws://${small.host}/echo`], "this is longer than ten bytes\n");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /code 1009/);
  });
});

describe("wsx connect: the handshake it sends", () => {
  test("--protocol (repeatable), -H headers and --origin reach the server", async (t) => {
    let seen: UpgradeRequestMessage | null = null;
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      protocols: ["chat.v2"],
      upgrade: (req) => {
        seen = req;
      },
      open: (ws) => ws.close(1000, "seen"),
    });
    t.after(() => wss.close());
    await wss.ready();
    const args = ["connect", `ws://127.0.0.1:${wss.port}/x`, "--json", "--protocol", "chat.v1", "--protocol", "chat.v2"];
    args.push("-H", "Authorization: Bearer t0k", "-H", "X-Trace: 42", "--origin", "https://app.example");
    const r = await run(t, args);
    assert.equal(r.code, 0, r.stderr);
    const req = seen as IncomingMessage | null;
    assert.ok(req !== null);
    assert.equal(req.headers["sec-websocket-protocol"], "chat.v1, chat.v2");
    assert.equal(req.headers.authorization, "Bearer t0k");
    assert.equal(req.headers["x-trace"], "42");
    assert.equal(req.headers.origin, "https://app.example");
    const events = jsonLines<Event>(r.stdout);
    assert.equal(events[0].protocol, "chat.v2");
    assert.deepEqual([events.at(-1)?.code, events.at(-1)?.reason], [1000, "seen"]);
  });
});

describe("wsx connect: failures", () => {
  test("connection refused: says so, exit 1", async (t) => {
    // Port 1 on loopback: nothing listens there without privileges.
    const r = await run(t, ["connect", "ws://127.0.0.1:1/"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused/);
  });

  test("DNS failure: says so, exit 1", async (t) => {
    // RFC 6761: .invalid never resolves.
    const r = await run(t, ["connect", "ws://no-such-host.invalid/"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DNS lookup failed/);
  });

  test("TLS: an untrusted certificate fails (exit 1); --ca or --insecure connect", async (t) => {
    const { certPath, keyPath } = selfSignedCert();
    const s = await serve(t, ["--tls-cert", certPath, "--tls-key", keyPath, "--quiet"], "https");
    const url = `wss://${s.host}/echo`;
    const untrusted = await run(t, ["connect", url], "x\n");
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /TLS failure/);
    for (const extra of [["--ca", certPath], ["--insecure"]]) {
      const r = await run(t, ["connect", url, "--json", "--replies", "1", ...extra], "secure\n");
      assert.equal(r.code, 0, `${extra.join(" ")}: ${r.stderr}`);
      assert.equal(jsonLines<Event>(r.stdout).find((e) => e.event === "message")?.data, "secure");
    }
  });

  test("--json reports a failure as an error event too", async (t) => {
    const r = await run(t, ["connect", "ws://127.0.0.1:1/", "--json"]);
    assert.equal(r.code, 1);
    const [event] = jsonLines<Event>(r.stdout);
    assert.equal(event.event, "error");
    assert.match(event.message ?? "", /refused/);
  });
});

describe("wsx connect: piped mode waits for the replies", () => {
  const SLOW = join(ROOT, "test/cli/fixtures/slow-upper.mjs");
  async function slowExec(t: import("node:test").TestContext): Promise<string> {
    const server = wsx(t, ["exec", "--port", "0", "--quiet", "--", process.execPath, SLOW]);
    const m = await server.waitForLine(/listening on (ws:\/\/127\.0\.0\.1:\d+)\//, 15_000);
    return m[1];
  }

  test("a slow program behind wsx exec: every reply arrives before the server's close, exit 0", async (t) => {
    const url = await slowExec(t);
    // The program answers each line 400 ms later and exits after "done": wsx exec then closes with 1000.
    const r = await run(t, ["connect", url, "--json"], "one\ntwo\ndone\n");
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines<Event>(r.stdout);
    assert.deepEqual(events.filter((e) => e.event === "message").map((e) => e.data), ["ONE", "TWO"]);
    assert.deepEqual([events.at(-1)?.event, events.at(-1)?.code], ["close", 1000]);
  });

  test("--replies n closes once n messages have arrived, however slowly", async (t) => {
    const url = await slowExec(t);
    const r = await run(t, ["connect", url, "--json", "--replies", "2"], "a\nb\n");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonLines<Event>(r.stdout).filter((e) => e.event === "message").map((e) => e.data), ["A", "B"]);
  });

  test("--wait running out before the server closes: closes, says replies may be lost, exit 3", async (t) => {
    const url = await slowExec(t);
    const r = await run(t, ["connect", url, "--wait", "0"], "never answered in time\n");
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /replies after that are lost/);
  });

  test("`| head -1`: the reader going away is no error: no stack trace, the connection closes, exit 0", async (t) => {
    const s = await serve(t, ["--quiet"]);
    // Enough output to overflow the pipe after head has gone, so EPIPE is certain.
    const lines = 3000;
    const script = `seq 1 ${lines} | "$0" "$1" connect ws://${s.host}/echo --replies ${lines} | head -1; echo "status=\${PIPESTATUS[1]}" >&2`;
    const child = spawnChild("bash", ["-c", script, process.execPath, WSX], { t, name: "wsx connect | head -1" });
    const { code } = await child.exited(30_000);
    assert.equal(code, 0);
    assert.match(child.stdout(), /^\d\d:\d\d:\d\d\.\d{3} connected to ws:\/\//);
    assert.equal(child.stdout().trim().split("\n").length, 1);
    assert.match(child.stderr(), /status=0/);
    assert.doesNotMatch(child.stderr(), /EPIPE|Error|at /);
  });
});

describe("wsx connect: what it tells the person", () => {
  test("a refused handshake shows the status and the body the server sent", async (t) => {
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      upgrade: () => {
        throw new HandshakeError(401, "token expired at 12:00, sign in again");
      },
    });
    t.after(() => wss.close());
    await wss.ready();
    const r = await run(t, ["connect", `ws://127.0.0.1:${wss.port}/`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401 Unauthorized: token expired at 12:00, sign in again/);
  });

  test("wss:// to a plain ws:// port: says the server does not speak TLS, no OpenSSL dump or certificate advice", async (t) => {
    const s = await serve(t, ["--quiet"]);
    const r = await run(t, ["connect", `wss://${s.host}/echo`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not answer in TLS.*try ws:\/\//);
    assert.doesNotMatch(r.stderr, /--insecure|--ca|SSL routines|openssl/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  test("/ping shows the pong with its data; /help lists commands; unknown commands are not sent; // escapes", async (t) => {
    const s = await serve(t, ["--quiet"]);
    const r = await run(t, ["connect", `ws://${s.host}/echo`, "--json", "--replies", "1"], "/ping are you there\n/help\n/nope\n//slash\n");
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines<Event & { ms?: number }>(r.stdout);
    const pong = events.find((e) => e.event === "pong");
    assert.equal(pong?.data, "are you there");
    assert.equal(typeof pong?.ms, "number");
    assert.deepEqual(events.filter((e) => e.event === "sent" || e.event === "message").map((e) => [e.event, e.data]), [["sent", "/slash"], ["message", "/slash"]]);
    assert.match(r.stderr, /\/ping \[data\]/);
    assert.match(r.stderr, /unknown command \/nope: not sent/);
  });

  test("a usage error prints one hint, naming the command's help", async (t) => {
    const unknown = await run(t, ["frob"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.match(/\(try /g)?.length, 1, unknown.stderr);
    assert.match(unknown.stderr, /\(try wsx --help\)/);
    const bad = await run(t, ["connect", "--frob"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.match(/\(try /g)?.length, 1, bad.stderr);
    assert.match(bad.stderr, /\(try wsx connect --help\)/);
  });
});
