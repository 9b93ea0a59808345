/** Frame opcodes (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  /** %x0: a continuation frame. */
  Continuation: 0x0,
  /** %x1: a text frame. */
  Text: 0x1,
  /** %x2: a binary frame. */
  Binary: 0x2,
  /** %x8: a connection close. */
  Close: 0x8,
  /** %x9: a ping. */
  Ping: 0x9,
  /** %xA: a pong. */
  Pong: 0xa,
} as const;

/** An opcode value from {@link Opcode}. */
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §5.5: control frames are those whose opcode has the most significant bit set. */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}
