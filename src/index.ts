/**
 * wsx: a fast, strict WebSocket toolkit for Node.js.
 *
 * Client (the browser's API): {@link WebSocket}, {@link CloseEvent}, {@link WebSocketStream},
 * {@link WebSocketError}. Server:
 * {@link WebSocketServer}, {@link ServerWebSocket}. Protocol core: `wsx/protocol`.
 */
export { WebSocket, clientFailure, clientHttpVersion, pingClient, type BinaryType } from "./client/websocket.js";
export {
  CloseEvent,
  WebSocketMessageEvent,
  type AddEventListenerOptions,
  type CloseEventInit,
  type EventListenerOptions,
  type EventListenerOrEventListenerObject,
  type MessageEventInit,
  type WebSocketEventMap,
} from "./client/events.js";
export type { EventHandler } from "./client/event-handlers.js";
export { WebSocketStream, type WebSocketOpenInfo, type WebSocketStreamOptions } from "./client/websocket-stream.js";
export { WebSocketError, type WebSocketCloseInfo } from "./client/websocket-error.js";
export { CLIENT_DEFAULTS, type WebSocketOptions } from "./client/options.js";
export type { PerMessageDeflateOptions } from "./protocol/extensions/permessage-deflate.js";
export { WebSocketServer } from "./server/server.js";
export { ServerWebSocket, type WebSocketData } from "./server/server-websocket.js";
export { MessageStream, type MessageSource } from "./server/message-stream.js";
export { SendStatus, type SendStatusValue } from "./server/send-status.js";
export {
  DEFAULTS as SERVER_DEFAULTS,
  type BackpressurePolicy,
  type ServerHandlers,
  type UpgradeInfo,
  type WebSocketServerOptions,
} from "./server/options.js";
export type { PubSubAdapter, RemoteDelivery } from "./server/adapter.js";
export { HTTP2_DEFAULTS, type Http2ListenOptions } from "./server/http2.js";
export type { Http2UpgradeRequest } from "./server/http2-request.js";
export type { UpgradeRequestMessage } from "./server/pending-handshake.js";
export type { DurableStats, HandshakeRejection, ServerStats } from "./server/stats.js";
export { formatPrometheus, PROMETHEUS_CONTENT_TYPE, type LabelledStats, type PrometheusOptions } from "./server/prometheus.js";
export { CloseCode, type CloseCodeValue } from "./protocol/close-code.js";
export { HandshakeError, ProtocolError } from "./protocol/errors.js";
export { ReadyState, type ReadyStateValue } from "./protocol/connection.js";
export { ReconnectingWebSocket, type NodeReconnectingWebSocketOptions } from "./client/reconnect/node.js";
export {
  ReconnectError,
  RECONNECT_DEFAULTS,
  isRetryableClose,
  type ReconnectErrorCode,
  type ReconnectingWebSocketOptions,
  type ReconnectTimers,
  type ReconnectingWebSocketEventMap,
  type WebSocketLike,
} from "./client/reconnect/reconnecting-websocket.js";
export { TopicClient, TopicClientError, type TopicClientEventMap, type TopicClientOptions, type TopicMessageHandler, type TopicSubscribeOptions, type TopicSubscription } from "./client/reconnect/topic-client.js";
export {
  OfflineEvent,
  OnlineEvent,
  ReconnectingCloseEvent,
  ReconnectingMessageEvent,
  TopicErrorEvent,
  TopicResumedEvent,
  TopicUnrecoverableEvent,
  type CloseInfo,
} from "./client/reconnect/events.js";
export { BACKOFF_DEFAULTS, backoffDelay, type BackoffOptions } from "./client/reconnect/backoff.js";
export { MemoryHistory, type MemoryHistoryOptions } from "./server/memory-history.js";
export { HistoryUnavailableError, type HistoryEntry, type HistoryFeed, type HistoryRead, type HistoryStore, type ReadPosition } from "./server/history.js";
export { formatOffset, parseOffset, type Offset, type OffsetParts } from "./server/offset.js";
export { TOPICS_PROTOCOL } from "./server/topics-protocol.js";
export type { DurableSelector, SseOptions, SubscribeOptions, TopicAction, TopicsOptions, UnrecoverableEvent, UnrecoverableReason } from "./server/topics-options.js";
