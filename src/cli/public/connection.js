// The chat page's connection to /chat: wsx's reconnecting client (the browser module that
// `wsx serve` serves at /wsx/reconnect/, compiled from src/client/reconnect/), on the
// browser's own WebSocket: exponential backoff with full jitter between attempts, one
// "offline" per outage. Everything the page needs from a connection goes through this one
// object.
import { ReconnectingWebSocket } from "/wsx/reconnect/browser.js";

/**
 * Opens `url` and keeps it open. Callbacks: onOnline({ attempt, reconnected }) after each
 * open, onOffline({ code, retryIn }) once per outage, onMessage(msg) with each parsed JSON
 * message, onClose({ code, reason }) if the server closes with a code not worth retrying
 * (policy violation, say). Returns { send(obj) → boolean }.
 */
export function openConnection(url, { onOnline, onOffline, onMessage, onClose }) {
  // Chat sends nothing while offline (the page disables its form), so no offline queue:
  // a message typed during an outage stays in the box instead of arriving late.
  const ws = new ReconnectingWebSocket(url, [], { initialDelay: 500, maxDelay: 10000, maxQueuedMessages: 0 });
  ws.addEventListener("online", (event) => onOnline(event));
  ws.addEventListener("offline", (event) => onOffline(event));
  ws.addEventListener("close", (event) => onClose && onClose(event));
  ws.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    onMessage(msg);
  });
  return {
    /** Sends `obj` as JSON; false if the connection is not open. */
    send(obj) {
      if (ws.readyState !== ReconnectingWebSocket.OPEN) return false;
      try {
        return ws.send(JSON.stringify(obj));
      } catch {
        return false;
      }
    },
  };
}
