/** Small helpers for client tests. */
import { WebSocket } from "../../src/client/websocket.js";

/** Records every event of a client as "type" or "type:detail", resolving on close. */
export function record(ws: WebSocket, timeoutMs = 10_000): { log: string[]; closed: Promise<{ code: number; reason: string; wasClean: boolean }> } {
  const log: string[] = [];
  ws.addEventListener("open", () => log.push("open"));
  ws.addEventListener("error", () => log.push("error"));
  ws.addEventListener("message", (e: any) => log.push(`message:${typeof e.data === "string" ? e.data : e.data instanceof ArrayBuffer ? `ab${e.data.byteLength}` : `blob${e.data.size}`}`));
  const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no close event within ${timeoutMs} ms; saw ${log.join(",")}`)), timeoutMs);
    ws.addEventListener("close", (e: any) => {
      clearTimeout(t);
      log.push(`close:${e.code}`);
      resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
  });
  return { log, closed };
}

/** Resolves at the next event of `type`. */
export function once<T = any>(ws: WebSocket, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
    ws.addEventListener(type, (e) => {
      clearTimeout(t);
      resolve(e as T);
    }, { once: true });
  });
}
