/**
 * Loosely typed façade over process-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./process-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const spawnChild: (cmd: string, args?: string[], options?: any) => ChildHandle = (impl as any).spawnChild;
/** A spawned child. */
export interface ChildHandle {
  child: any;
  pid: number | undefined;
  stdout(): string;
  stderr(): string;
  waitForLine(pattern: RegExp, timeoutMs?: number, stream?: string): Promise<RegExpMatchArray>;
  waitForOutput<T>(find: (line: string) => T | undefined | null, timeoutMs?: number, stream?: string, what?: string): Promise<T>;
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: string | null }>;
  running(): boolean;
  kill(signal?: string, graceMs?: number): Promise<{ code: number | null; signal: string | null }>;
  [key: string]: any;
}
