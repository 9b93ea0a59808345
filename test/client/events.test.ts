// The event classes: CloseEvent (WHATWG WebSockets §CloseEvent) and the MessageEvent the
// client fires (HTML §MessageEvent fields).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloseEvent, WebSocketMessageEvent } from "../../src/client/events.js";

describe("CloseEvent", () => {
  test("the init dictionary sets wasClean, code and reason", () => {
    const e = new CloseEvent("close", { wasClean: true, code: 4000, reason: "r ✓" });
    assert.deepEqual([e.type, e.wasClean, e.code, e.reason], ["close", true, 4000, "r ✓"]);
    assert.ok(e instanceof Event);
  });

  test("defaults: wasClean false, code 0, reason empty; not bubbling or cancelable", () => {
    const d = new CloseEvent("x");
    assert.deepEqual([d.wasClean, d.code, d.reason, d.bubbles, d.cancelable], [false, 0, "", false, false]);
  });

  test("EventInit members are honoured", () => {
    const e = new CloseEvent("close", { bubbles: true, cancelable: true });
    assert.deepEqual([e.bubbles, e.cancelable], [true, true]);
    e.preventDefault();
    assert.equal(e.defaultPrevented, true);
  });

  test("WebIDL conversions: code is an unsigned short (modulo 2^16), values are converted", () => {
    assert.equal(new CloseEvent("c", { code: 65536 + 4000 }).code, 4000);
    assert.equal(new CloseEvent("c", { code: -1 }).code, 65535);
    assert.equal(new CloseEvent("c", { code: 1000.9 }).code, 1000);
    assert.equal(new CloseEvent("c", { code: "3001" as any }).code, 3001);
    assert.equal(new CloseEvent("c", { wasClean: 1 as any }).wasClean, true);
    assert.equal(new CloseEvent("c", { reason: 42 as any }).reason, "42");
  });

  test("attributes are read-only", () => {
    const e = new CloseEvent("close", { code: 1000 });
    assert.throws(() => {
      (e as any).code = 4000;
    }, TypeError);
    assert.equal(e.code, 1000);
  });

  test("dispatches through an EventTarget", () => {
    const target = new EventTarget();
    let seen: CloseEvent | null = null;
    target.addEventListener("close", (e) => (seen = e as CloseEvent));
    const e = new CloseEvent("close", { code: 1001 });
    target.dispatchEvent(e);
    assert.equal(seen, e);
    assert.equal(e.target, target);
  });
});

describe("WebSocketMessageEvent", () => {
  test("data and origin from the init dictionary; lastEventId, source and ports as for WebSockets", () => {
    const buf = new ArrayBuffer(3);
    const e = new WebSocketMessageEvent("message", { data: buf, origin: "ws://example.test" });
    assert.equal(e.type, "message");
    assert.equal(e.data, buf);
    assert.equal(e.origin, "ws://example.test");
    assert.equal(e.lastEventId, "");
    assert.equal(e.source, null);
    assert.deepEqual([...e.ports], []);
    assert.ok(Object.isFrozen(e.ports));
    assert.ok(e instanceof Event);
  });

  test("defaults (HTML §MessageEventInit: data is null)", () => {
    const e = new WebSocketMessageEvent("message");
    assert.deepEqual([e.data, e.origin, e.lastEventId], [null, "", ""]);
  });
});
