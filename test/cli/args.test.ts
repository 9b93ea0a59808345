// The command line itself: help, version, and bad arguments (one line, exit 2).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, run } from "./wsx.js";

test("--help for the command and each subcommand, with examples", async (t) => {
  const top = await run(t, ["--help"]);
  assert.equal(top.code, 0);
  for (const sub of ["serve", "connect", "exec", "bench"]) assert.match(top.stdout, new RegExp(`^  ${sub}\\b`, "m"));
  for (const sub of ["serve", "connect", "exec", "bench"]) {
    for (const args of [[sub, "--help"], [sub, "-h"], ["help", sub]]) {
      const r = await run(t, args);
      assert.equal(r.code, 0, args.join(" "));
      assert.match(r.stdout, new RegExp(`^Usage: wsx ${sub}`), args.join(" "));
      assert.match(r.stdout, /\nExamples:\n {2}wsx /);
    }
  }
});

test("--version prints package.json's version", async (t) => {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-v"]) {
    const r = await run(t, [flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
  }
});

test("bad arguments: one clear line on stderr, exit 2", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /./], // no command: the help, exit 2
    [["frobnicate"], /unknown command "frobnicate"/],
    [["connect"], /expected exactly one URL/],
    [["connect", "ftp://x/"], /ftp/],
    [["connect", "ws://x/", "--binary-as", "rot13"], /--binary-as/],
    [["connect", "ws://x/", "-H", "no colon"], /Name: value/],
    [["connect", "ws://x/", "--wait", "soon"], /--wait must be a number/],
    [["connect", "ws://x/", "--ca", "/nonexistent/ca.pem"], /--ca: cannot read/],
    [["serve", "--port", "abc"], /--port must be a whole number/],
    [["serve", "--port", "70000"], /--port must be between 0 and 65535/],
    [["serve", "--bogus"], /bogus/],
    [["serve", "--tls-cert", "x.pem"], /--tls-cert and --tls-key go together/],
    [["serve", "--log", "xml"], /--log/],
    [["exec"], /a command is required/],
    [["exec", "cat"], /after "--"/],
    [["exec", "--max", "0", "--", "cat"], /--max must be between 1/],
    [["bench"], /one or two URLs/],
    [["bench", "a", "b", "c"], /one or two URLs/],
    [["bench", "not a url"], /not a WebSocket URL/],
    [["bench", "ws://x/", "-c", "-1"], /./],
  ];
  for (const [args, message] of cases) {
    const r = await run(t, args);
    assert.equal(r.code, 2, `wsx ${args.join(" ")}: ${r.stderr}`);
    if (args.length === 0) {
      assert.match(r.stdout, /^Usage: wsx/);
      continue;
    }
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line for wsx ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^wsx: /);
    assert.match(r.stderr, message, `wsx ${args.join(" ")}`);
  }
});
