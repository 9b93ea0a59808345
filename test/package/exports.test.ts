/**
 * The public surface, pinned: every runtime export of every entry point, with its kind, for
 * both the ESM (`import`) and CommonJS (`require`) builds. Adding or removing an export must
 * change this list on purpose (and the README with it).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

/** Entry point → export name → `typeof` the value. Types do not exist at run time. */
const SURFACE: Record<string, Record<string, string>> = {
  wsx: {
    CLIENT_DEFAULTS: "object",
    CloseCode: "object",
    CloseEvent: "function",
    HandshakeError: "function",
    HistoryUnavailableError: "function",
    MemoryHistory: "function",
    MessageStream: "function",
    PROMETHEUS_CONTENT_TYPE: "string",
    ProtocolError: "function",
    ReadyState: "object",
    SERVER_DEFAULTS: "object",
    SendStatus: "object",
    ServerWebSocket: "function",
    TOPICS_PROTOCOL: "string",
    WebSocket: "function",
    WebSocketError: "function",
    WebSocketMessageEvent: "function",
    WebSocketServer: "function",
    WebSocketStream: "function",
    clientFailure: "function",
    clientHttpVersion: "function",
    formatOffset: "function",
    formatPrometheus: "function",
    HTTP2_DEFAULTS: "object",
    parseOffset: "function",
    pingClient: "function",
    // The reconnecting client and the topic client (src/client/reconnect/).
    BACKOFF_DEFAULTS: "object",
    OfflineEvent: "function",
    OnlineEvent: "function",
    RECONNECT_DEFAULTS: "object",
    ReconnectError: "function",
    ReconnectingCloseEvent: "function",
    ReconnectingMessageEvent: "function",
    ReconnectingWebSocket: "function",
    TopicClient: "function",
    TopicClientError: "function",
    TopicErrorEvent: "function",
    TopicResumedEvent: "function",
    TopicUnrecoverableEvent: "function",
    backoffDelay: "function",
    isRetryableClose: "function",
  },
  "wsx/global": {},
  "wsx/redis": {
    ENVELOPE_VERSION: "number",
    RedisAdapter: "function",
    RedisHistory: "function",
    decodeEnvelope: "function",
    encodeEnvelope: "function",
  },
  "wsx/protocol": {
    CloseCode: "object",
    Connection: "function",
    DEFAULT_MAX_FRAGMENTS: "number",
    FIN: "number",
    HandshakeError: "function",
    LocalProtocolError: "function",
    MAX_HEADER_SIZE: "number",
    Opcode: "object",
    OutputQueue: "function",
    ProtocolError: "function",
    RSV1: "number",
    RSV2: "number",
    RSV3: "number",
    SETTINGS_ENABLE_CONNECT_PROTOCOL: "number",
    ReadyState: "object",
    Receiver: "function",
    Utf8Validator: "function",
    WEBSOCKET_GUID: "string",
    WEBSOCKET_VERSION: "string",
    acceptResponse: "function",
    applyMask: "function",
    applyMaskKey: "function",
    assertCloseFrame: "function",
    assertControlPayload: "function",
    compressedLimit: "function",
    computeAccept: "function",
    copyMasked: "function",
    encodeFrame: "function",
    extendedConnectRejection: "function",
    extendedConnectResponse: "function",
    headerSize: "function",
    isControlOpcode: "function",
    isExtendedConnect: "function",
    isToken: "function",
    isValidKey: "function",
    isValidUtf8: "function",
    isValidWireCloseCode: "function",
    packMaskKey: "function",
    parseTokenList: "function",
    rejectResponse: "function",
    tokenListIncludes: "function",
    validateUpgradeRequest: "function",
    validateExtendedConnect: "function",
    validateUpgradeResponse: "function",
    validateWebSocketHeaders: "function",
    writeHeader: "function",
  },
};

function surfaceOf(mod: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(mod).sort()) if (name !== "default" && name !== "module.exports") out[name] = typeof mod[name];
  return out;
}

function sorted(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const require = createRequire(import.meta.url);

for (const [entry, expected] of Object.entries(SURFACE)) {
  test(`import("${entry}") exports exactly the pinned names`, async () => {
    const mod = (await import(entry)) as Record<string, unknown>;
    assert.deepEqual(surfaceOf(mod), sorted(expected));
  });

  test(`require("${entry}") exports exactly the pinned names, from the CommonJS build`, () => {
    assert.match(require.resolve(entry), /[/\\]dist[/\\]cjs[/\\]/);
    const mod = require(entry) as Record<string, unknown>;
    assert.deepEqual(surfaceOf(mod), sorted(expected));
  });
}

test("the ESM and CommonJS builds are separate module instances with the same classes' shape", async () => {
  const esm = (await import("wsx")) as { WebSocketServer: { prototype: object } };
  const cjs = require("wsx") as { WebSocketServer: { prototype: object } };
  assert.notEqual(esm.WebSocketServer, cjs.WebSocketServer);
  assert.deepEqual(Object.getOwnPropertyNames(cjs.WebSocketServer.prototype).sort(), Object.getOwnPropertyNames(esm.WebSocketServer.prototype).sort());
});
