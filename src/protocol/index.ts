/**
 * The sans-I/O protocol core of wsx (`wsx/protocol`): frames, the receiver, the connection
 * state machine and the handshake, usable with any I/O.
 */
export { CloseCode, isValidWireCloseCode, type CloseCodeValue } from "./close-code.js";
export { assertCloseFrame, assertControlPayload, Connection, ReadyState, type ConnectionHandler, type ConnectionOptions, type ReadyStateValue } from "./connection.js";
export { HandshakeError, LocalProtocolError, ProtocolError, type LocalProtocolErrorCode } from "./errors.js";
export { applyMask, applyMaskKey, packMaskKey, copyMasked, encodeFrame, headerSize, writeHeader, FIN, RSV1, RSV2, RSV3, MAX_HEADER_SIZE, type EncodeFrameOptions } from "./frame.js";
export {
  acceptResponse,
  computeAccept,
  isToken,
  isValidKey,
  parseTokenList,
  rejectResponse,
  tokenListIncludes,
  validateUpgradeRequest,
  validateUpgradeResponse,
  validateWebSocketHeaders,
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
  type HandshakeResult,
  type HeaderMap,
  type UpgradeRequest,
  type WebSocketOffer,
} from "./handshake.js";
export {
  extendedConnectRejection,
  extendedConnectResponse,
  isExtendedConnect,
  SETTINGS_ENABLE_CONNECT_PROTOCOL,
  validateExtendedConnect,
  type ExtendedConnectRequest,
} from "./handshake-h2.js";
export { isControlOpcode, Opcode, type OpcodeValue } from "./opcode.js";
export { OutputQueue, type MaskSource } from "./output-queue.js";
export { compressedLimit, DEFAULT_MAX_FRAGMENTS, Receiver, type ReceiverHandler, type ReceiverOptions } from "./receiver.js";
export { isValidUtf8, Utf8Validator } from "./utf8.js";
