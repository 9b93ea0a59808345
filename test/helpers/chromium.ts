/**
 * Loosely typed façade over chromium-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./chromium-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const CHROMIUM_ARGS: any = (impl as any).CHROMIUM_ARGS;
export const DISABLE_LOCAL_NETWORK_ACCESS: any = (impl as any).DISABLE_LOCAL_NETWORK_ACCESS;
export const launchChromium: any = (impl as any).launchChromium;
