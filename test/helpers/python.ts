/**
 * Loosely typed façade over python-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./python-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const PY_DIR: any = (impl as any).PY_DIR;
export const startPythonEchoServer: any = (impl as any).startPythonEchoServer;
export const runPythonClient: any = (impl as any).runPythonClient;
