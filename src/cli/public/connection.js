// The chat page's connection to /chat: the browser's own WebSocket, reopened with capped
// exponential backoff and jitter after it drops. Everything the page needs from a
// connection goes through this one object, so another client (a reconnecting client
// module, say) can take its place without touching the page.

/**
 * Opens `url` and keeps it open. Callbacks: onOnline() after each open, onOffline() once
 * per outage, onMessage(msg) with each parsed JSON message. Returns { send(obj) → boolean }.
 */
export function openConnection(url, { onOnline, onOffline, onMessage }) {
  let ws = null;
  let retry = 0;
  let online = false;

  function connect() {
    ws = new WebSocket(url);
    ws.onopen = () => {
      retry = 0;
      online = true;
      onOnline();
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(msg);
    };
    ws.onclose = () => {
      // The first close of an outage is reported; failed retries are not.
      if (online || retry === 0) onOffline();
      online = false;
      const delay = Math.min(10000, 250 * 2 ** retry++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  connect();
  return {
    /** Sends `obj` as JSON; false if the connection is not open. */
    send(obj) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(obj));
      return true;
    },
  };
}
