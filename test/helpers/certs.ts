/**
 * Loosely typed façade over certs-impl.ts, which was restored from compiled output after its
 * typed source was lost. To be retyped; the behaviour is covered by the tests that use it.
 */
import * as impl from "./certs-impl.js";
/* eslint-disable @typescript-eslint/no-explicit-any */
export const generateSelfSignedCert: any = (impl as any).generateSelfSignedCert;
export const selfSignedCert: any = (impl as any).selfSignedCert;
