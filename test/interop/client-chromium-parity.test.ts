// Differential test against a real browser: the same scenario functions run in headless
// Chromium (its native WebSocket) and in Node with the wsx client, against the same wsx
// server; what each observes (events in order, readyState at each, close codes, exception
// names, bufferedAmount) must be identical.
//
// Two known Chromium deviations from the standard are left out (wsx follows the standard,
// as undici does; see test/client/whatwg-api.test.ts): Chromium accepts protocols that
// differ only in case (["a", "A"]; WPT Create-protocols-repeated-case-insensitive expects a
// SyntaxError), and does not apply WebIDL [Clamp] rounding to close()'s code (2999.6).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { HandshakeError } from "../../src/protocol/errors.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { skipUnless } from "../helpers/components.js";
import { startParityBench, type ParityBench } from "../helpers/parity.js";

/**
 * A scenario: runs in the browser (serialized with toString) and in Node, so it uses only
 * the standard API and its arguments (no closures, no imports). Resolves with a log.
 */
type Scenario = (Ctor: typeof WebSocket, base: string) => Promise<string[]>;

/** The scenarios, by name; each logs what it observes, waiting at most 5 s for close. */
const scenarios: Record<string, Scenario> = {
  // Echo a text and a binary message, then a client close with a code and reason.
  "echo, then client close": (Ctor, base) =>
    new Promise((resolve) => {
      const log: string[] = [];
      const ws = new Ctor(base + "/echo", ["b", "a"]);
      ws.binaryType = "arraybuffer";
      const timer = setTimeout(() => resolve([...log, "timeout"]), 5000);
      ws.onopen = () => {
        log.push(`open rs=${ws.readyState} protocol=${ws.protocol} ext=${ws.extensions}`);
        ws.send("héllo");
        ws.send(new Uint8Array([1, 2, 3]));
      };
      ws.onmessage = (e: any) => {
        log.push(`message ${typeof e.data === "string" ? e.data : `ab${e.data.byteLength}`} origin=${e.origin === new URL(base).origin.replace("http", "ws")}`);
        if (typeof e.data !== "string") {
          ws.close(4000, "done ✓");
          log.push(`after close() rs=${ws.readyState}`);
        }
      };
      ws.onerror = () => log.push(`error rs=${ws.readyState}`);
      ws.onclose = (e: any) => {
        clearTimeout(timer);
        log.push(`close rs=${ws.readyState} ${e.code} clean=${e.wasClean}`);
        resolve(log);
      };
    }),
  "server sends five messages and closes at once": (Ctor, base) => record(Ctor, base + "/burst"),
  "server closes with no status code": (Ctor, base) => record(Ctor, base + "/no-code"),
  "server drops TCP without a close frame": (Ctor, base) => record(Ctor, base + "/terminate"),
  "server sends invalid UTF-8": (Ctor, base) => record(Ctor, base + "/bad-utf8"),
  "server sends a masked frame": (Ctor, base) => record(Ctor, base + "/masked"),
  "server refuses the handshake with 403": (Ctor, base) => record(Ctor, base + "/reject"),
  "close() while CONNECTING": (Ctor, base) =>
    new Promise((resolve) => {
      const log: string[] = [];
      const ws = new Ctor(base + "/echo");
      const timer = setTimeout(() => resolve([...log, "timeout"]), 5000);
      ws.onopen = () => log.push("open");
      ws.onerror = () => log.push(`error rs=${ws.readyState}`);
      ws.onclose = (e: any) => {
        clearTimeout(timer);
        log.push(`close rs=${ws.readyState} ${e.code} clean=${e.wasClean} reason=${e.reason}`);
        resolve(log);
      };
      ws.close();
      log.push(`after close() rs=${ws.readyState}`);
    }),
  "bufferedAmount after close()": (Ctor, base) =>
    new Promise((resolve) => {
      const log: string[] = [];
      const ws = new Ctor(base + "/echo");
      const timer = setTimeout(() => resolve([...log, "timeout"]), 5000);
      ws.onopen = () => {
        ws.close();
        ws.send("12345");
        ws.send(new Uint8Array(7));
        ws.send("é");
        log.push(`closing buffered=${ws.bufferedAmount}`);
      };
      ws.onclose = () => {
        clearTimeout(timer);
        ws.send(new ArrayBuffer(10));
        log.push(`closed buffered=${ws.bufferedAmount}`);
        resolve(log);
      };
    }),
  "exceptions": async (Ctor, base) => {
    const log: string[] = [];
    const name = (f: () => unknown): string => {
      try {
        f();
        return "ok";
      } catch (e: any) {
        return e.name;
      }
    };
    const wsUrl = base.replace("http", "ws") + "/echo";
    for (const u of ["ftp://x/", "ws://x/#", "ws://x/#f", "http://[::1", "wss://x:99999/"]) log.push(`new ${u}: ${name(() => new Ctor(u).close())}`);
    for (const p of [[""], ["a", "a"], ["a b"], ["a,b"], ["ok"], []]) log.push(`protocols ${JSON.stringify(p)}: ${name(() => new Ctor(wsUrl, p).close())}`);
    const ws = new Ctor(wsUrl);
    log.push(`send while connecting: ${name(() => ws.send("x"))}`);
    for (const c of [0, 999, 1001, 2999, 5000, 65536 + 1000, NaN, -1, Infinity]) log.push(`close(${c}): ${name(() => ws.close(c))}`);
    log.push(`close(1000, 124 bytes): ${name(() => ws.close(1000, "x".repeat(124)))}`);
    log.push(`binaryType default ${ws.binaryType}`);
    (ws as any).binaryType = "bogus";
    log.push(`binaryType after bogus ${ws.binaryType}`);
    log.push(`constants ${ws.CONNECTING}${ws.OPEN}${ws.CLOSING}${ws.CLOSED} ${Ctor.CLOSED} own=${Object.hasOwn(ws, "OPEN")}`);
    ws.close();
    log.push(`after close() rs=${ws.readyState}`);
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 5000);
      ws.onclose = () => {
        clearTimeout(timer);
        r();
      };
    });
    return log;
  },
};

/**
 * The common scenario: record every event of one connection to `url` until close. In the
 * browser it is installed as a global from its source text before a scenario runs.
 */
function record(Ctor: typeof WebSocket, url: string): Promise<string[]> {
  return new Promise((resolve) => {
    const log: string[] = [];
    const ws = new Ctor(url.replace(/^http/, "ws"));
    ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => resolve([...log, "timeout"]), 5000);
    ws.onopen = () => log.push(`open rs=${ws.readyState}`);
    ws.onmessage = (e: any) => log.push(`message ${typeof e.data === "string" ? e.data : `ab${e.data.byteLength}`} rs=${ws.readyState}`);
    ws.onerror = () => log.push(`error rs=${ws.readyState}`);
    ws.onclose = (e: any) => {
      clearTimeout(timer);
      log.push(`close rs=${ws.readyState} ${e.code} clean=${e.wasClean} reason=${e.reason}`);
      resolve(log);
    };
  });
}

/** What the server does on open, by path: the server-side half of the scenarios. */
function serverSide(ws: ServerWebSocket<{ path: string }>): void {
  switch (ws.data.path) {
    case "/burst":
      for (let i = 0; i < 5; i++) ws.send(`m${i}`);
      ws.close(4001, "bye ✓");
      break;
    case "/no-code":
      ws.transport.close(0, "");
      break;
    case "/terminate":
      ws.terminate();
      break;
    case "/bad-utf8":
      ws.transport.sendRaw(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
      break;
    case "/masked":
      ws.transport.sendRaw(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x60]));
      break;
  }
}

const chromiumSkip = await skipUnless("chromium");

describe("wsx client and Chromium observe the same things", { skip: chromiumSkip }, () => {
  let bench: ParityBench;
  before(async () => {
    bench = await startParityBench({
      title: "wsx parity",
      upgrade(req) {
        if (req.url === "/reject") throw new HandshakeError(403, "no");
      },
      open: serverSide,
    });
  });
  after(() => bench?.close());

  for (const [name, scenario] of Object.entries(scenarios)) {
    test(name, async () => {
      const source = scenario.toString();
      // The browser gets the scenario and the record() helper as source text.
      const inBrowser: string[] = await bench.page.evaluate(
        async ([src, rec, b]: [string, string, string]) => {
          const record = (0, eval)(`(${rec})`);
          (globalThis as any).record = record;
          const fn = (0, eval)(`(${src})`);
          return fn(WebSocket, b);
        },
        [source, record.toString(), bench.base] as [string, string, string],
      );
      const inNode = await scenario(WebSocket, bench.base);
      assert.ok(!inBrowser.includes("timeout"), `the browser run finished: ${inBrowser.join(" | ")}`);
      assert.deepEqual(inNode, inBrowser);
    });
  }
});
