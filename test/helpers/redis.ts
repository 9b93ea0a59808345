/**
 * Loosely typed façade over redis-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./redis-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const startRedis: any = (impl as any).startRedis;
