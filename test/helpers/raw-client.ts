/**
 * Loosely typed façade over raw-client-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./raw-client-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const WS_GUID: any = (impl as any).WS_GUID;
export const DEFAULT_TIMEOUT_MS: any = (impl as any).DEFAULT_TIMEOUT_MS;
export const Opcode: any = (impl as any).Opcode;
export const encodeFrame: any = (impl as any).encodeFrame;
export const closePayload: any = (impl as any).closePayload;
export const parseClosePayload: any = (impl as any).parseClosePayload;
export const acceptFor: any = (impl as any).acceptFor;
export const connectRaw: (port: number, options?: ConnectRawOptions) => Promise<RawClient> = (impl as any).connectRaw;
export const rawHandshake: any = (impl as any).rawHandshake;
/** A frame as the raw client parsed it. */
export interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  payload: Buffer;
  [key: string]: any;
}

/** A connected raw client. */
export interface RawClient {
  key: string;
  response: any;
  write(bytes: Uint8Array): void;
  sendFrame(spec: FrameSpec): Buffer;
  sendText(text: string, ...rest: any[]): void;
  sendBinary(data: Uint8Array, ...rest: any[]): void;
  sendClose(code?: number, reason?: string): void;
  nextFrame(timeoutMs?: number): Promise<RawFrame>;
  expectNoFrame(timeoutMs?: number): Promise<void>;
  closed(timeoutMs?: number): Promise<any>;
  expectClose(code: number, options?: any): Promise<{ skipped: RawFrame[]; reason: string }>;
  destroy(): void;
  [key: string]: any;
}
/** Options of connectRaw. */
export type ConnectRawOptions = any;
/** A frame to encode. */
export type FrameSpec = any;
