// Differential test of WebSocketStream and WebSocketError against a real browser: the same
// scenario functions run in headless Chromium (its native WebSocketStream) and in Node with
// wsx's, against the same wsx server; what each observes (chunk types, closed results,
// rejection classes and codes, exception names) must be identical. The WebSocketStream
// standard text is an unmerged draft (whatwg/websockets#48): where it leaves room, wsx does
// what the shipping browser does, and this test pins it. Left out: a relative URL (Chromium
// resolves it against the page; Node has no base URL, so it is a SyntaxError).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocketError } from "../../src/client/websocket-error.js";
import { WebSocketStream } from "../../src/client/websocket-stream.js";
import { skipUnless } from "../helpers/components.js";
import { startParityBench, type ParityBench } from "../helpers/parity.js";

/** Runs in the browser (serialized) and in Node: only the standard API and its arguments. */
type Scenario = (WSS: typeof WebSocketStream, WSE: typeof WebSocketError, base: string) => Promise<string[]>;

const scenarios: Record<string, Scenario> = {
  "echo text and binary, chunk types, close with a code": async (WSS, _WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/echo", { protocols: ["b", "a"] });
    const { readable, writable, protocol, extensions } = await s.opened;
    log.push(`opened protocol=${protocol} ext=${extensions === "" ? "none" : "some"}`);
    const w = writable.getWriter();
    const r = readable.getReader();
    await w.write("héllo");
    await w.write(new Uint8Array([1, 2, 3]));
    await w.write(new Uint8Array([4, 5]).buffer);
    for (let i = 0; i < 3; i++) {
      const { value } = await r.read();
      log.push(typeof value === "string" ? `text ${value}` : `${Object.prototype.toString.call(value)} ${(value as ArrayBuffer).byteLength}`);
    }
    s.close({ closeCode: 4000, reason: "done ✓" });
    const closed = await s.closed;
    log.push(`closed ${closed.closeCode} ${closed.reason}`);
    log.push(`read after close: done=${(await r.read()).done}`);
    return log;
  },
  "close() forms": async (WSS, _WSE, base) => {
    const log: string[] = [];
    for (const arg of [undefined, {}, { reason: "" }, { reason: "r" }, { closeCode: 1000 }]) {
      const s = new WSS(base + "/echo");
      await s.opened;
      s.close(arg);
      const c = await s.closed;
      log.push(`${JSON.stringify(arg)} -> ${c.closeCode} "${c.reason}"`);
    }
    return log;
  },
  "close() argument errors": async (WSS, _WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/echo");
    await s.opened;
    for (const arg of [true, { closeCode: 999 }, { closeCode: 1001 }, { closeCode: 5000 }, { closeCode: NaN }, { closeCode: 70000 }, { reason: "x".repeat(124) }]) {
      try {
        s.close(arg as never);
        log.push("no throw");
      } catch (e) {
        log.push(`${(e as Error).constructor.name} ${(e as Error).name}`);
      }
    }
    s.close();
    await s.closed;
    return log;
  },
  "server close with code and reason; writes after": async (WSS, _WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/server-close");
    const { readable, writable } = await s.opened;
    const c = await s.closed;
    log.push(`closed ${c.closeCode} ${c.reason}`);
    log.push(`read done=${(await readable.getReader().read()).done}`);
    try {
      await writable.getWriter().write("late");
      log.push("write ok");
    } catch (e) {
      log.push(`write rejected ${(e as Error).name}`);
    }
    return log;
  },
  "server drops TCP": async (WSS, WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/terminate");
    const { readable } = await s.opened;
    try {
      await s.closed;
      log.push("closed resolved");
    } catch (e) {
      const err = e as InstanceType<typeof WebSocketError>;
      log.push(`closed rejected WebSocketError=${err instanceof WSE} name=${err.name} code=${err.closeCode} reason="${err.reason}"`);
    }
    try {
      await readable.getReader().read();
      log.push("read ok");
    } catch (e) {
      log.push(`read rejected WebSocketError=${e instanceof WSE}`);
    }
    return log;
  },
  "close() while connecting": async (WSS, WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/echo");
    s.close();
    for (const [name, p] of [["opened", s.opened], ["closed", s.closed]] as const) {
      try {
        await p;
        log.push(`${name} resolved`);
      } catch (e) {
        log.push(`${name} rejected WebSocketError=${e instanceof WSE} name=${(e as Error).name}`);
      }
    }
    return log;
  },
  "handshake refused (subprotocol offered, none selected)": async (WSS, WSE, base) => {
    const log: string[] = [];
    const s = new WSS(base + "/echo", { protocols: ["nope"] });
    for (const [name, p] of [["opened", s.opened], ["closed", s.closed]] as const) {
      try {
        await p;
        log.push(`${name} resolved`);
      } catch (e) {
        log.push(`${name} rejected WebSocketError=${e instanceof WSE} name=${(e as Error).name}`);
      }
    }
    return log;
  },
  "abort signal: before, and after opening": async (WSS, _WSE, base) => {
    const log: string[] = [];
    const reason = new Error("stop");
    const a = new WSS(base + "/echo", { signal: AbortSignal.abort(reason) });
    for (const p of [a.opened, a.closed]) {
      try {
        await p;
        log.push("resolved");
      } catch (e) {
        log.push(`rejected: the reason=${e === reason} ${Object.prototype.toString.call(e)} ${(e as Error).name}`);
      }
    }
    const during = new AbortController();
    const c = new WSS(base + "/echo", { signal: during.signal });
    during.abort(reason);
    for (const p of [c.opened, c.closed]) {
      try {
        await p;
        log.push("resolved");
      } catch (e) {
        log.push(`during: the reason=${e === reason} ${(e as Error).name}`);
      }
    }
    const controller = new AbortController();
    const b = new WSS(base + "/echo", { signal: controller.signal });
    const { readable, writable } = await b.opened;
    controller.abort();
    await writable.getWriter().write("still");
    log.push(`after abort: ${(await readable.getReader().read()).value}`);
    b.close();
    log.push(`closed ${(await b.closed).closeCode}`);
    return log;
  },
  "abort and cancel with and without a WebSocketError": async (WSS, WSE, base) => {
    const log: string[] = [];
    for (const how of ["abort", "cancel"]) {
      for (const reason of [undefined, { closeCode: 3456 }, new WSE("", { closeCode: 4321, reason: "chosen" })]) {
        const s = new WSS(base + "/echo");
        const info = await s.opened;
        if (how === "abort") await info.writable.abort(reason);
        else await info.readable.cancel(reason);
        const c = await s.closed;
        log.push(`${how} ${reason === undefined ? "none" : reason instanceof WSE ? "WebSocketError" : "object"} -> ${c.closeCode} "${c.reason}"`);
      }
    }
    return log;
  },
  "closing the writable": async (WSS, _WSE, base) => {
    const s = new WSS(base + "/echo");
    const { writable } = await s.opened;
    let closedFirst = false;
    void s.closed.then(() => (closedFirst = true));
    await writable.getWriter().close();
    const c = await s.closed;
    return [`writer.close() after closed=${closedFirst}`, `closed ${c.closeCode}`];
  },
  "WebSocketError": async (_WSS, WSE) => {
    const log: string[] = [];
    const e = new WSE("m", { closeCode: 4000, reason: "r" });
    log.push(`${Object.prototype.toString.call(e)} ${e.name} ${e.message} ${e.code} ${e.closeCode} ${e.reason} DOMException=${e instanceof DOMException}`);
    const d = new WSE();
    log.push(`defaults "${d.message}" ${d.closeCode} "${d.reason}"; reason alone -> ${new WSE("", { reason: "x" }).closeCode}`);
    for (const init of [{ closeCode: 1001 }, { closeCode: 70000 }, { reason: "x".repeat(124) }, 3]) {
      try {
        new WSE("", init as never);
        log.push("no throw");
      } catch (err) {
        log.push(`${(err as Error).constructor.name} ${(err as Error).name}`);
      }
    }
    return log;
  },
  "constructor errors and shape": async (WSS, _WSE, base) => {
    const log: string[] = [];
    for (const args of [[], ["ftp://127.0.0.1/"], [base + "/#x"], [base, { protocols: ["a", "a"] }], [base, { protocols: "a" }], [base, { signal: {} }]]) {
      try {
        new (WSS as any)(...args);
        log.push("no throw");
      } catch (err) {
        log.push(`${(err as Error).constructor.name} ${(err as Error).name}`);
      }
    }
    const s = new WSS(base + "/echo");
    log.push(`${Object.prototype.toString.call(s)} url=${s.url === base.replace("http", "ws") + "/echo"}`);
    log.push(`enumerable: ${["url", "opened", "closed", "close"].map((k) => Object.getOwnPropertyDescriptor(WSS.prototype, k)?.enumerable).join(",")}`);
    s.close();
    await s.closed.catch(() => {});
    return log;
  },
};

const chromiumSkip = await skipUnless("chromium");

describe("wsx WebSocketStream and Chromium's observe the same things", { skip: chromiumSkip, timeout: 120_000 }, () => {
  let bench: ParityBench;
  before(async () => {
    bench = await startParityBench({
      title: "wsx stream parity",
      open(ws) {
        if (ws.data.path === "/server-close") ws.close(4002, "server ✓");
        if (ws.data.path === "/terminate") ws.terminate();
      },
    });
  });
  after(() => bench?.close());

  test("Chromium has WebSocketStream and WebSocketError", async () => {
    assert.deepEqual(await bench.page.evaluate(() => [typeof (globalThis as any).WebSocketStream, typeof (globalThis as any).WebSocketError]), ["function", "function"]);
  });

  for (const [name, scenario] of Object.entries(scenarios)) {
    test(name, async () => {
      const inBrowser: string[] = await bench.page.evaluate(
        async ([src, b]: [string, string]) => {
          const fn = (0, eval)(`(${src})`);
          return fn((globalThis as any).WebSocketStream, (globalThis as any).WebSocketError, b);
        },
        [scenario.toString(), bench.base] as [string, string],
      );
      const inNode = await scenario(WebSocketStream, WebSocketError, bench.base);
      assert.deepEqual(inNode, inBrowser);
    });
  }
});
