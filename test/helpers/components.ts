/**
 * Loosely typed façade over components-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./components-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const SYSTEM_PYTHON: any = (impl as any).SYSTEM_PYTHON;
export const CHROMIUM_PATH: any = (impl as any).CHROMIUM_PATH;
export const COMPONENTS: any = (impl as any).COMPONENTS;
export const inCI: any = (impl as any).inCI;
export const requireComponent: any = (impl as any).requireComponent;
export const componentOrSkip: any = (impl as any).componentOrSkip;
export const skipUnless: any = (impl as any).skipUnless;
export const hasComponent: any = (impl as any).hasComponent;
