/**
 * Loosely typed façade over ports-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./ports-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const freePort: any = (impl as any).freePort;
