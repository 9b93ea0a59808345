/**
 * Streamed messages on the server: a received message as a `Readable` of its pieces, with
 * the socket paused while the consumer is not reading; and a message sent as fragments
 * (RFC 6455 §5.4) while an (async) iterable produces them, waiting on the socket's drain.
 * Neither keeps a whole message in memory.
 */
import { Readable } from "node:stream";
import { CloseCode } from "../protocol/close-code.js";
import { ProtocolError } from "../protocol/errors.js";
import { Opcode } from "../protocol/opcode.js";
import type { Transport } from "../transport/transport.js";

/**
 * One received data message as a byte stream (`for await (const chunk of message)`, or
 * `pipe`). Chunks are Buffers in arrival order; for a text message a chunk may end inside
 * a UTF-8 sequence (the whole message is valid UTF-8). The stream errors if the connection
 * ends before the message does.
 */
export class MessageStream extends Readable {
  /** Whether the message is binary (false: text). */
  readonly isBinary: boolean;
  readonly #transport: Transport;
  /** True while input is paused for this stream. */
  #paused = false;

  /** @internal */
  constructor(transport: Transport, isBinary: boolean) {
    super({ highWaterMark: 64 * 1024 });
    this.#transport = transport;
    this.isBinary = isBinary;
  }

  /** @internal A piece arrived: queue it, and stop reading the socket while the queue is full. */
  deliver(chunk: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(chunk) && !this.#paused) {
      this.#paused = true;
      this.#transport.pauseInput();
    }
  }

  /** @internal The message is complete. */
  finish(): void {
    if (!this.destroyed) this.push(null);
    this.#resume();
  }

  /** @internal The connection ended mid-message. */
  abort(): void {
    this.#resume();
    if (!this.destroyed && !this.readableEnded) this.destroy(new Error("the connection closed before the message was complete"));
  }

  override _read(): void {
    this.#resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A consumer that gives up must not leave the connection paused: the rest of the
    // message is read and dropped.
    this.#resume();
    callback(error);
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#transport.resumeInput();
  }
}

/** What {@link sendMessageStream} accepts: chunks of bytes or strings, sync or async. */
export type MessageSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** Bytes queued beyond which a streamed send waits for the socket's drain. */
const STREAM_SEND_HIGH_WATER = 1024 * 1024;

/**
 * Sends one message whose payload `source` produces, each chunk as a fragment as soon as
 * it comes (RFC 6455 §5.4), uncompressed; other messages wait until it is complete.
 * Resolves true once the final fragment is queued, false if the connection closed first.
 * If `source` throws, the connection is closed with 1011 (half a message cannot be taken
 * back) and the error is rethrown. `waitDrain` resolves when the socket drained or closed;
 * `sent` hears the payload size once the message is complete (for statistics).
 */
export async function sendMessageStream(
  transport: Transport,
  source: MessageSource,
  isBinary: boolean,
  waitDrain: () => Promise<void>,
  sent: (bytes: number) => void = noop,
): Promise<boolean> {
  if (!(await transport.reserveSending())) return false;
  let opcode: number = isBinary ? Opcode.Binary : Opcode.Text;
  let total = 0;
  try {
    try {
      for await (const chunk of source) {
        const data = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer);
        if ((typeof data === "string" ? data.length : data.byteLength) === 0) continue;
        if (!transport.sendFragment(opcode, data, false)) return false;
        total += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
        opcode = Opcode.Continuation;
        if (transport.bufferedAmount > STREAM_SEND_HIGH_WATER) {
          transport.flush();
          if (transport.socket.writableNeedDrain) await waitDrain();
          if (transport.closed) return false;
        }
      }
    } catch (error) {
      // Half a message cannot be taken back, and no other data frame may follow it
      // (RFC 6455 §5.4): fail the connection with 1011 before anything queued can go.
      transport.fail(new ProtocolError(CloseCode.InternalError, "the message source failed"));
      throw error;
    }
    // The final fragment (empty); for an empty source, the whole (empty) message.
    if (!transport.sendFragment(opcode, EMPTY, true)) return false;
    sent(total);
    return true;
  } finally {
    transport.releaseSending();
  }
}

const EMPTY = new Uint8Array(0);

function noop(): void {}
