/**
 * `wsx/redis`: pub/sub scale-out through Redis. Requires the `redis` package (an optional
 * peer dependency): `npm install redis`.
 */
export {
  RedisAdapter,
  type RedisAdapterOptions,
  type RedisAdapterStats,
  type RedisConnectionRole,
  type RedisDisconnected,
  type RedisLostMessages,
  type RedisReconnected,
} from "./redis-adapter.js";
export { decodeEnvelope, encodeEnvelope, ENVELOPE_VERSION, type Envelope } from "./envelope.js";
export { RedisHistory, type RedisHistoryOptions, type RedisHistoryStats } from "./redis-history.js";
