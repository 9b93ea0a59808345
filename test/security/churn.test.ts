// Churn: 20,000 connect/send/close cycles leave no sockets, timers, listeners or heap behind.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { spawnChild } from "../support/processes.js";

test("20,000 connect/send/close cycles: no leaked sockets, timers or listeners; heap back within 2 MiB", async () => {
  const fixture = fileURLToPath(new URL("./fixtures/churn.js", import.meta.url));
  const child = spawnChild(process.execPath, ["--expose-gc", fixture, "20000"]);
  const code = await child.exited(240_000);
  assert.equal(code, 0, child.stderr());
  const r = JSON.parse(child.stdout().trim().split("\n").at(-1)!) as {
    clients: number;
    topics: number;
    heapBefore: number;
    heapAfter: number;
    resourcesBefore: Record<string, number>;
    resourcesAfter: Record<string, number>;
    listeners: number;
  };
  assert.equal(r.clients, 0);
  assert.equal(r.topics, 0);
  // Pipes are this process's stdio, opened lazily by its first write.
  const noStdio = (m: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(m).filter(([k]) => k !== "PipeWrap" && k !== "TTYWrap"));
  assert.deepEqual(noStdio(r.resourcesAfter), noStdio(r.resourcesBefore), "the same active handles as before the churn");
  assert.equal(r.listeners, 0);
  const grown = r.heapAfter - r.heapBefore;
  assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown} bytes`);
});
