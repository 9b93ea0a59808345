/**
 * wsx: a fast, strict WebSocket toolkit for Node.js.
 *
 * Server: {@link WebSocketServer}, {@link ServerWebSocket}. Protocol core: `wsx/protocol`.
 */
export { WebSocketServer } from "./server/server.js";
export { ServerWebSocket, type WebSocketData } from "./server/server-websocket.js";
export { SendStatus, type SendStatusValue } from "./server/send-status.js";
export {
  DEFAULTS as SERVER_DEFAULTS,
  type BackpressurePolicy,
  type ServerHandlers,
  type UpgradeInfo,
  type WebSocketServerOptions,
} from "./server/options.js";
export type { PubSubAdapter, RemoteDelivery } from "./server/adapter.js";
export { CloseCode, type CloseCodeValue } from "./protocol/close-code.js";
export { HandshakeError, ProtocolError } from "./protocol/errors.js";
export { ReadyState, type ReadyStateValue } from "./protocol/connection.js";
