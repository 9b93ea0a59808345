/**
 * UTF-8 validation (RFC 3629 §4) for text messages and close reasons (RFC 6455 §5.6, §8.1).
 * Whole buffers go to the native `isUtf8`; streams go through {@link Utf8Validator}, which
 * fails as soon as the offending byte arrives, not at the end of the message.
 */
import { isUtf8 } from "node:buffer";

/** Whether `data` is entirely valid UTF-8. */
export function isValidUtf8(data: Uint8Array): boolean {
  return data.length === 0 || isUtf8(data);
}

/**
 * An incremental UTF-8 validator. Feed it the bytes of a message as they arrive; it keeps the
 * state of a sequence split across chunks (and across fragments).
 */
export class Utf8Validator {
  /** Continuation bytes still expected by the current sequence. */
  private remaining = 0;
  /** Allowed range of the next continuation byte (excludes overlongs, surrogates, > U+10FFFF). */
  private lower = 0x80;
  private upper = 0xbf;

  /** Resets the validator for a new message. */
  reset(): void {
    this.remaining = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** Whether the bytes so far end on a character boundary (a message may end here). */
  get complete(): boolean {
    return this.remaining === 0;
  }

  /** Validates `data[start..end)`; returns false at the first invalid byte. */
  feed(data: Uint8Array, start = 0, end = data.length): boolean {
    let i = start;
    // Finish a sequence left open by the previous chunk.
    while (this.remaining > 0 && i < end) {
      if (!this.step(data[i++])) return false;
    }
    if (i >= end) return true;
    // Find where the last, possibly incomplete, sequence starts: at most 3 bytes back.
    let tail = end;
    for (let back = 1; back <= 3 && end - back >= i; back++) {
      const b = data[end - back];
      if ((b & 0xc0) !== 0x80) {
        // A lead byte: does its sequence fit entirely before `end`?
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (need > back) tail = end - back;
        break;
      }
    }
    // The complete part goes to the native validator; the tail through the state machine.
    if (tail > i && !isUtf8(data.subarray(i, tail))) return false;
    for (let j = tail; j < end; j++) if (!this.step(data[j])) return false;
    return true;
  }

  /** RFC 3629 §4 syntax, one byte at a time. */
  private step(b: number): boolean {
    if (this.remaining === 0) {
      if (b < 0x80) return true;
      if (b >= 0xc2 && b <= 0xdf) return this.expect(1, 0x80, 0xbf);
      if (b === 0xe0) return this.expect(2, 0xa0, 0xbf); // no overlong 3-byte forms
      if (b === 0xed) return this.expect(2, 0x80, 0x9f); // no surrogates U+D800-DFFF
      if (b >= 0xe1 && b <= 0xef) return this.expect(2, 0x80, 0xbf);
      if (b === 0xf0) return this.expect(3, 0x90, 0xbf); // no overlong 4-byte forms
      if (b >= 0xf1 && b <= 0xf3) return this.expect(3, 0x80, 0xbf);
      if (b === 0xf4) return this.expect(3, 0x80, 0x8f); // nothing above U+10FFFF
      return false; // 0x80-0xc1 as a lead byte, 0xf5-0xff
    }
    if (b < this.lower || b > this.upper) return false;
    this.remaining--;
    this.lower = 0x80;
    this.upper = 0xbf;
    return true;
  }

  private expect(remaining: number, lower: number, upper: number): boolean {
    this.remaining = remaining;
    this.lower = lower;
    this.upper = upper;
    return true;
  }
}
