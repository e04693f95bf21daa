// libvirt's RPC framing (src/rpc/virnetprotocol.x): every message is a 4-byte big-endian
// length that counts itself, a 24-byte header, then the XDR body. A stream socket delivers
// messages in arbitrary pieces, so PacketReader reassembles them.

/** virNetMessageType. */
export const MessageType = { CALL: 0, REPLY: 1, MESSAGE: 2, STREAM: 3, CALL_WITH_FDS: 4, REPLY_WITH_FDS: 5 } as const;
/** virNetMessageStatus. */
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

/** REMOTE_PROGRAM / REMOTE_PROTOCOL_VERSION (remote_protocol.x). */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;
/** The keepalive program (virkeepaliveprotocol.x): PING = 1, PONG = 2. */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROC_PING = 1;
export const KEEPALIVE_PROC_PONG = 2;

/** VIR_NET_MESSAGE_MAX: largest header + body; the length word comes on top. */
export const MESSAGE_MAX = 16 * 1024 * 1024;
const LEN_SIZE = 4;
export const HEADER_SIZE = 24;

export type Header = {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
};

export type Packet = { header: Header; body: Buffer };

/** A peer that does not speak the framing (bad length): the connection cannot continue. */
export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

export function encodePacket(header: Header, body: Uint8Array): Buffer {
  const total = LEN_SIZE + HEADER_SIZE + body.length;
  if (total - LEN_SIZE > MESSAGE_MAX) throw new FramingError(`message of ${total} bytes exceeds libvirt's maximum ${MESSAGE_MAX}`);
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(header.program >>> 0, 4);
  out.writeUInt32BE(header.version >>> 0, 8);
  out.writeInt32BE(header.procedure, 12);
  out.writeInt32BE(header.type, 16);
  out.writeUInt32BE(header.serial >>> 0, 20);
  out.writeInt32BE(header.status, 24);
  out.set(body, LEN_SIZE + HEADER_SIZE);
  return out;
}

/** Parses one whole message (length word included). */
export function decodePacket(message: Buffer): Packet {
  if (message.length < LEN_SIZE + HEADER_SIZE) throw new FramingError(`message of ${message.length} bytes is shorter than a header`);
  const len = message.readUInt32BE(0);
  if (len !== message.length) throw new FramingError(`message says ${len} bytes but has ${message.length}`);
  return {
    header: {
      program: message.readUInt32BE(4),
      version: message.readUInt32BE(8),
      procedure: message.readInt32BE(12),
      type: message.readInt32BE(16),
      serial: message.readUInt32BE(20),
      status: message.readInt32BE(24),
    },
    body: message.subarray(LEN_SIZE + HEADER_SIZE),
  };
}

/**
 * Reassembles messages from stream chunks. Chunks are kept as a list and joined once per
 * message, so a large message that arrives in many pieces costs one copy, not one per piece.
 */
export class PacketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the message being assembled, once its length word has arrived. */
  private expected = -1;

  /** Adds bytes from the socket; returns every message they complete, in order. */
  push(chunk: Buffer): Packet[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Packet[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < LEN_SIZE) break;
        const len = this.peekLength();
        if (len < LEN_SIZE + HEADER_SIZE || len - LEN_SIZE > MESSAGE_MAX) {
          throw new FramingError(`bad message length ${len} (must be ${LEN_SIZE + HEADER_SIZE}..${LEN_SIZE + MESSAGE_MAX})`);
        }
        this.expected = len;
      }
      if (this.buffered < this.expected) break;
      out.push(decodePacket(this.take(this.expected)));
      this.expected = -1;
    }
    return out;
  }

  /** Bytes held that do not yet make a whole message. */
  get pending(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= LEN_SIZE) return first.readUInt32BE(0);
    // The length word itself is split: join just enough leading chunks to read it.
    let n = 0, have = 0;
    while (have < LEN_SIZE) have += this.chunks[n++]!.length;
    const head = Buffer.concat(this.chunks.slice(0, n));
    this.chunks.splice(0, n, head);
    return head.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const message = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return message;
  }
}
