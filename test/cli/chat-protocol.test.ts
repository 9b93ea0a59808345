// The chat protocol of `wsx serve` (/chat), spoken by `ws` clients: rooms, presence,
// member counts, and the input bounds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { scaled } from "../helpers/time.js";
import { serve, type Served } from "./wsx.js";

interface ChatEvent {
  type: string;
  room?: string;
  name?: string;
  text?: string;
  count?: number;
  members?: number;
  names?: string[];
  action?: string;
  ts?: number;
}

/** A chat client whose replies can be awaited one by one. */
class Member {
  readonly ws: WebSocket;
  private readonly inbox: ChatEvent[] = [];
  private wake: (() => void) | null = null;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("message", (d: Buffer) => {
      this.inbox.push(JSON.parse(d.toString()) as ChatEvent);
      this.wake?.();
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next event of this type (earlier events of other types are skipped); 5 s at most (scaled). */
  async next(type: string): Promise<ChatEvent> {
    const deadline = Date.now() + scaled(5000);
    for (;;) {
      const i = this.inbox.findIndex((e) => e.type === type);
      if (i !== -1) return this.inbox.splice(0, i + 1)[i];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${type}" within ${scaled(5000)} ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = null;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

describe("wsx serve /chat", () => {
  let server: Served;
  before(async () => {
    server = await serve(undefined, ["--quiet"]);
  });
  after(async () => {
    await server.child.kill("SIGTERM");
  });

  const member = async (): Promise<Member> => {
    const m = new Member(`ws://${server.host}/chat`);
    await m.opened();
    return m;
  };

  test("two members: counts pushed on join and leave, presence, messages to the whole room", async () => {
    const ann = await member();
    ann.send({ type: "join", room: "tea", name: "ann" });
    assert.deepEqual(await ann.next("joined"), { type: "joined", room: "tea", name: "ann", members: 1, names: ["ann"] });
    assert.deepEqual(await ann.next("members"), { type: "members", room: "tea", count: 1, names: ["ann"] });

    const bob = await member();
    bob.send({ type: "join", room: "tea", name: "bob" });
    assert.deepEqual(await bob.next("joined"), { type: "joined", room: "tea", name: "bob", members: 2, names: ["ann", "bob"] });
    assert.deepEqual(await ann.next("presence"), { type: "presence", room: "tea", name: "bob", action: "join" });
    assert.deepEqual(await ann.next("members"), { type: "members", room: "tea", count: 2, names: ["ann", "bob"] });

    bob.send({ type: "say", text: "hi ann" });
    for (const m of [ann, bob]) {
      const said = await m.next("message");
      assert.deepEqual([said.room, said.name, said.text], ["tea", "bob", "hi ann"]);
      assert.equal(typeof said.ts, "number");
    }

    await bob.close();
    assert.deepEqual(await ann.next("presence"), { type: "presence", room: "tea", name: "bob", action: "leave" });
    assert.deepEqual(await ann.next("members"), { type: "members", room: "tea", count: 1, names: ["ann"] });
    await ann.close();
  });

  test("switching rooms updates both rooms' counts; messages stay in their room", async () => {
    const ann = await member();
    const bob = await member();
    ann.send({ type: "join", room: "one", name: "ann" });
    await ann.next("joined");
    assert.equal((await ann.next("members")).count, 1);
    bob.send({ type: "join", room: "one", name: "bob" });
    await bob.next("joined");
    assert.equal((await ann.next("members")).count, 2);
    bob.send({ type: "join", room: "two", name: "bob" });
    assert.deepEqual(await bob.next("joined"), { type: "joined", room: "two", name: "bob", members: 1, names: ["bob"] });
    assert.equal((await ann.next("members")).count, 1);
    bob.send({ type: "say", text: "only in two" });
    ann.send({ type: "say", text: "only in one" });
    assert.equal((await ann.next("message")).text, "only in one");
    assert.equal((await bob.next("message")).text, "only in two");
    await Promise.all([ann.close(), bob.close()]);
  });

  test("bad input gets an error reply and changes nothing", async () => {
    const m = await member();
    const bad: unknown[] = [
      "not json",
      "[1,2]",
      { type: "say", text: "before joining" },
      { type: "join", room: "", name: "x" },
      { type: "join", room: "has space", name: "x" },
      { type: "join", room: "r".repeat(33), name: "x" },
      { type: "join", room: "ok", name: "" },
      { type: "join", room: "ok", name: "n".repeat(33) },
      { type: "join", room: "ok", name: "bell\u0007" },
      { type: "dance" },
    ];
    // Exactly one burst (10 messages; the rate limit is 5/s with a burst of 10): each one is
    // answered for what it is, not with "slow down". The limiter itself is tested with an
    // injected clock in chat-rate-limit.test.ts.
    assert.equal(bad.length, 10);
    for (const message of bad) {
      m.send(message);
      const reply = await m.next("error");
      assert.doesNotMatch(reply.text ?? "", /slow down/, JSON.stringify(message));
    }
    await m.close();
    // A fresh member, so a fresh burst, for the rest.
    const n = await member();
    n.ws.send(Buffer.from([1, 2, 3]));
    assert.match((await n.next("error")).text ?? "", /JSON text/);
    n.send({ type: "join", room: "bounds", name: "  trimmed  " });
    assert.equal((await n.next("joined")).name, "trimmed");
    n.send({ type: "say", text: "x".repeat(2001) });
    assert.match((await n.next("error")).text ?? "", /at most 2000/);
    n.send({ type: "say", text: `${"y".repeat(2000)}` });
    assert.equal((await n.next("message")).text?.length, 2000);
    await n.close();
  });

  test("a flood is rate limited", async () => {
    const m = await member();
    m.send({ type: "join", room: "flood", name: "f" });
    await m.next("joined");
    for (let i = 0; i < 30; i++) m.send({ type: "say", text: `m${i}` });
    assert.match((await m.next("error")).text ?? "", /slow down/);
    await m.close();
  });

  test("a frame over 16 KiB closes the chat connection with 1009", async () => {
    const m = await member();
    const code = new Promise<number>((resolve) => m.ws.once("close", (c) => resolve(c)));
    m.send({ type: "say", text: "z".repeat(17 * 1024) });
    assert.equal(await code, 1009);
  });
});
