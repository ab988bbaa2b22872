import { z } from 'zod'
import { fromBase64 } from './base64'
import { MAX_CHUNK_SIZE, MAX_CONTROL_BYTES, MAX_FRAME_BYTES, MAX_NAME_LENGTH, MIN_CHUNK_SIZE } from './constants'
import { ChatProtocolError } from './errors'

/**
 * The frames of /pipbingo/chat/1.0.0. Each is length-prefixed (unsigned
 * varint) on the stream; inside, a 6-byte header and a body:
 *
 *   type:u8  flags:u8  seq:u32 (big-endian)  body
 *
 * `seq` counts the frames one side sent on this stream, from 0; the reader
 * checks it, so nothing is dropped, repeated or reordered unnoticed. With
 * FLAG_SEALED the body is `nonce(12) || AES-256-GCM(body) || tag(16)` under
 * the sender's direction key, the 6-byte header as associated data (see
 * node-bridge/crypto/README.md). Control bodies are UTF-8 JSON checked by
 * the schemas below; FILE_CHUNK carries raw file bytes.
 *
 * One exchange per stream, opened by the side that has something to say:
 *   HELLO → HELLO                                   (names and KEM keys)
 *   MESSAGE → ACK | ERROR
 *   FILE_OFFER → ACK, FILE_CHUNK… (← FILE_PROGRESS…), FILE_END → ACK | ERROR
 *   KEYS_INIT → KEYS_REPLY, KEYS_FINISH → ACK (sealed with the new key)
 */
export enum FrameType {
  Hello = 1,
  Message = 2,
  Ack = 3,
  Error = 4,
  FileOffer = 5,
  FileChunk = 6,
  FileEnd = 7,
  FileProgress = 8,
  KeysInit = 9,
  KeysReply = 10,
  KeysFinish = 11
}

export const FLAG_SEALED = 0x01
export const HEADER_BYTES = 6

export interface RawFrame {
  type: FrameType
  flags: number
  seq: number
  /** The header as sent: the associated data of a sealed body. */
  header: Uint8Array
  body: Uint8Array
}

const id = z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex digits')
const b64 = (max: number): z.ZodType<string> => z.string().max(max).refine(s => fromBase64(s) != null, 'expected base64')

export const bodySchemas = {
  [FrameType.Hello]: z.strictObject({
    name: z.string().min(1).max(MAX_NAME_LENGTH),
    public_key: b64(8192).optional(),
    agent: z.string().max(128).optional()
  }),
  [FrameType.Message]: z.strictObject({ id, text: z.string(), sent_at: z.string().max(40) }),
  [FrameType.Ack]: z.strictObject({ id: id.optional() }),
  [FrameType.Error]: z.strictObject({ code: z.string().max(64), message: z.string().max(1000) }),
  [FrameType.FileOffer]: z.strictObject({
    id,
    // anything: the receiver never uses it as a path (see its FileReceiver)
    name: z.string().max(1024),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    chunk_size: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE)
  }),
  [FrameType.FileEnd]: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  [FrameType.FileProgress]: z.strictObject({ received: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  [FrameType.KeysInit]: z.strictObject({ public_key: b64(8192) }),
  [FrameType.KeysReply]: z.strictObject({ public_key: b64(8192), ciphertext: b64(8192) }),
  [FrameType.KeysFinish]: z.strictObject({ ciphertext: b64(8192) })
} as const

export type JsonFrameType = keyof typeof bodySchemas
export type Body<T extends JsonFrameType> = z.infer<(typeof bodySchemas)[T]>

/** The 6-byte header of a frame. */
export function encodeHeader (type: FrameType, flags: number, seq: number): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES)
  header[0] = type
  header[1] = flags
  new DataView(header.buffer).setUint32(2, seq)
  return header
}

/** Header and body in one buffer (without the length prefix, which the stream adds). */
export function encodeFrame (header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.byteLength + body.byteLength)
  out.set(header, 0)
  out.set(body, header.byteLength)
  if (out.byteLength > MAX_FRAME_BYTES) throw new RangeError(`A frame of ${out.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`)
  return out
}

/** Split a frame into header and body. Throws ChatProtocolError on anything malformed. */
export function decodeFrame (bytes: Uint8Array): RawFrame {
  if (bytes.byteLength < HEADER_BYTES) throw new ChatProtocolError('Frame is shorter than its header')
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new ChatProtocolError(`Frame of ${bytes.byteLength} bytes is too large`)
  const type = bytes[0] as number
  if (FrameType[type] == null) throw new ChatProtocolError(`Unknown frame type ${type}`)
  const flags = bytes[1] as number
  if ((flags & ~FLAG_SEALED) !== 0) throw new ChatProtocolError(`Unknown frame flags 0x${flags.toString(16)}`)
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2)
  return { type, flags, seq, header: bytes.subarray(0, HEADER_BYTES), body: bytes.subarray(HEADER_BYTES) }
}

export function encodeJson (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

/** A control body, parsed and checked against its frame type's schema. */
export function decodeJson<T extends JsonFrameType> (type: T, body: Uint8Array): Body<T> {
  if (body.byteLength > MAX_CONTROL_BYTES) throw new ChatProtocolError(`${FrameType[type]} body of ${body.byteLength} bytes is too large`)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new ChatProtocolError(`${FrameType[type]} body is not UTF-8 JSON`)
  }
  const parsed = bodySchemas[type].safeParse(value)
  if (!parsed.success) {
    throw new ChatProtocolError(`Malformed ${FrameType[type]}: ${parsed.error.issues.map(i => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`)
  }
  return parsed.data as Body<T>
}
