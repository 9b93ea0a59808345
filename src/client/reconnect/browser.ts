/**
 * The browser module: the reconnecting client and the topic client on the page's own
 * `WebSocket`. `wsx serve` serves this folder's compiled files at `/wsx/reconnect/`, so a
 * page imports `/wsx/reconnect/browser.js`. Nothing here imports Node.
 */
export { ReconnectingWebSocket, ReconnectError, RECONNECT_DEFAULTS, isRetryableClose } from "./reconnecting-websocket.js";
export type { ReconnectErrorCode, ReconnectingWebSocketEventMap, ReconnectingWebSocketOptions, ReconnectTimers, WebSocketLike } from "./reconnecting-websocket.js";
export { TopicClient, TopicClientError, TOPICS_PROTOCOL } from "./topic-client.js";
export type { TopicClientEventMap, TopicSubscribeOptions, TopicSubscription, TopicClientOptions, TopicMessageHandler } from "./topic-client.js";
export { OfflineEvent, OnlineEvent, ReconnectingCloseEvent, ReconnectingMessageEvent, TopicResumedEvent, TopicErrorEvent, TopicUnrecoverableEvent } from "./events.js";
export type { CloseInfo, TopicUnrecoverableReason } from "./events.js";
export { BACKOFF_DEFAULTS, backoffCeiling, backoffDelay, type BackoffOptions } from "./backoff.js";
export { isNewOffset, parseOffset, MAX_OFFSET_LENGTH, type ParsedOffset } from "./offset.js";
