import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import { CONTENT_ID_BYTES } from '../../content/constants'
import { fromHex, toHex } from '../../util/hex'
import { MAX_FRAME_BYTES, MAX_HAVE_UPDATE_INDEXES } from './constants'
import { FrameDecodeError } from './errors'

/**
 * The frames of /pipbingo/chunk/1.1.0. Each is length-prefixed (unsigned
 * varint) on the stream; inside, big-endian fields:
 *
 *   HAVE_REQUEST   0x01 id:u32 contentId:32B
 *   HAVE_RESPONSE  0x02 id:u32 status:u8 bitfield:rest
 *   CHUNK_REQUEST  0x03 id:u32 contentId:32B index:u32
 *   CHUNK_RESPONSE 0x04 id:u32 status:u8 index:u32 data:rest
 *   CANCEL         0x05 id:u32
 *   HAVE_SUBSCRIBE 0x06 id:u32 contentId:32B
 *   HAVE_UPDATE    0x07 id:u32 index:u32 × n   (1 ≤ n ≤ 1024)
 *
 * Requests are pipelined: a client sends many, the server answers each by
 * id, in any order. HAVE_SUBSCRIBE is answered by a HAVE_RESPONSE; when its
 * status is OK the subscription lives on: the server then sends HAVE_UPDATE
 * frames under the same id with the chunks it stores, until CANCEL id or
 * the end of the stream.
 */
export enum FrameType {
  HaveRequest = 0x01,
  HaveResponse = 0x02,
  ChunkRequest = 0x03,
  ChunkResponse = 0x04,
  Cancel = 0x05,
  HaveSubscribe = 0x06,
  HaveUpdate = 0x07
}

export enum Status {
  Ok = 0,
  /** The server has no manifest for the content. */
  UnknownContent = 1,
  /** The server knows the content but does not hold that chunk. */
  DontHave = 2,
  /** Upload limit reached: try later or elsewhere. */
  Busy = 3,
  BadRequest = 4,
  /** The origin sent the chunk to another member of the swarm moments ago: get it from the swarm (super-seed.ts). */
  Elsewhere = 5
}

export type Frame =
  | { type: FrameType.HaveRequest, id: number, contentId: string }
  | { type: FrameType.HaveResponse, id: number, status: Status, bitfield: Uint8Array }
  /**
   * `isolated`: the requester reaches no holder of the chunk (it tried, for a while), so an
   * origin sends it even if it went to another member moments ago (super-seed.ts). One
   * optional flags byte after the index, sent only when set (bit 0).
   */
  | { type: FrameType.ChunkRequest, id: number, contentId: string, index: number, isolated?: boolean }
  | { type: FrameType.ChunkResponse, id: number, status: Status, index: number, data: Uint8Array }
  | { type: FrameType.Cancel, id: number }
  | { type: FrameType.HaveSubscribe, id: number, contentId: string }
  | { type: FrameType.HaveUpdate, id: number, indexes: number[] }

const HEADER = 5 // type + id
/** CHUNK_REQUEST's flags byte: the requester is isolated (see Frame). */
const REQUEST_ISOLATED = 0x01

/** Encode a frame with its length prefix, ready for `stream.send()`. Chunk data is not copied. */
export function encodeFrame (frame: Frame): Uint8ArrayList {
  let head: Uint8Array
  let body: Uint8Array | undefined
  switch (frame.type) {
    case FrameType.HaveRequest:
      head = header(frame.type, frame.id, CONTENT_ID_BYTES)
      head.set(contentIdBytes(frame.contentId), HEADER)
      break
    case FrameType.HaveResponse:
      head = header(frame.type, frame.id, 1)
      head[HEADER] = frame.status
      body = frame.bitfield
      break
    case FrameType.ChunkRequest:
      head = header(frame.type, frame.id, CONTENT_ID_BYTES + 4 + (frame.isolated === true ? 1 : 0))
      head.set(contentIdBytes(frame.contentId), HEADER)
      view(head).setUint32(HEADER + CONTENT_ID_BYTES, frame.index)
      if (frame.isolated === true) head[HEADER + CONTENT_ID_BYTES + 4] = REQUEST_ISOLATED
      break
    case FrameType.ChunkResponse:
      head = header(frame.type, frame.id, 5)
      head[HEADER] = frame.status
      view(head).setUint32(HEADER + 1, frame.index)
      body = frame.data
      break
    case FrameType.Cancel:
      head = header(frame.type, frame.id, 0)
      break
    case FrameType.HaveSubscribe:
      head = header(frame.type, frame.id, CONTENT_ID_BYTES)
      head.set(contentIdBytes(frame.contentId), HEADER)
      break
    case FrameType.HaveUpdate: {
      const n = frame.indexes.length
      if (n < 1 || n > MAX_HAVE_UPDATE_INDEXES) throw new RangeError(`A HAVE_UPDATE carries 1 to ${MAX_HAVE_UPDATE_INDEXES} indexes, not ${n}`)
      head = header(frame.type, frame.id, 4 * n)
      const v = view(head)
      frame.indexes.forEach((index, k) => { v.setUint32(HEADER + 4 * k, index) })
      break
    }
  }
  const length = head.byteLength + (body?.byteLength ?? 0)
  if (length > MAX_FRAME_BYTES) throw new RangeError(`A frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`)
  const out = new Uint8ArrayList(varint.encode(length), head)
  if (body != null && body.byteLength > 0) out.append(body)
  return out
}

/** Decode one frame (without its length prefix). Throws FrameDecodeError on anything malformed. */
export function decodeFrame (input: Uint8Array | Uint8ArrayList): Frame {
  const raw = input instanceof Uint8Array ? input : input.subarray()
  // a plain Uint8Array view, whatever the transport handed us (Node gives Buffers)
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new FrameDecodeError(`Frame of ${bytes.byteLength} bytes is too large`)
  if (bytes.byteLength < HEADER) throw new FrameDecodeError('Frame is shorter than its header')
  const v = view(bytes)
  const type = bytes[0] as number
  const id = v.getUint32(1)
  const rest = bytes.byteLength - HEADER
  switch (type) {
    case FrameType.HaveRequest:
      expectLength(rest === CONTENT_ID_BYTES, 'HAVE_REQUEST')
      return { type, id, contentId: toHex(bytes.subarray(HEADER, HEADER + CONTENT_ID_BYTES)) }
    case FrameType.HaveResponse:
      expectLength(rest >= 1, 'HAVE_RESPONSE')
      return { type, id, status: status(bytes[HEADER] as number), bitfield: bytes.slice(HEADER + 1) }
    case FrameType.ChunkRequest: {
      expectLength(rest === CONTENT_ID_BYTES + 4 || rest === CONTENT_ID_BYTES + 5, 'CHUNK_REQUEST')
      const flags = rest === CONTENT_ID_BYTES + 5 ? bytes[HEADER + CONTENT_ID_BYTES + 4] as number : 0
      if ((flags & ~REQUEST_ISOLATED) !== 0) throw new FrameDecodeError(`CHUNK_REQUEST has unknown flags ${flags}`)
      return {
        type,
        id,
        contentId: toHex(bytes.subarray(HEADER, HEADER + CONTENT_ID_BYTES)),
        index: v.getUint32(HEADER + CONTENT_ID_BYTES),
        ...(flags === REQUEST_ISOLATED ? { isolated: true } : {})
      }
    }
    case FrameType.ChunkResponse: {
      expectLength(rest >= 5, 'CHUNK_RESPONSE')
      const s = status(bytes[HEADER] as number)
      const data = bytes.subarray(HEADER + 5)
      if (s !== Status.Ok && data.byteLength > 0) throw new FrameDecodeError('CHUNK_RESPONSE carries data with an error status')
      return { type, id, status: s, index: v.getUint32(HEADER + 1), data }
    }
    case FrameType.Cancel:
      expectLength(rest === 0, 'CANCEL')
      return { type, id }
    case FrameType.HaveSubscribe:
      expectLength(rest === CONTENT_ID_BYTES, 'HAVE_SUBSCRIBE')
      return { type, id, contentId: toHex(bytes.subarray(HEADER, HEADER + CONTENT_ID_BYTES)) }
    case FrameType.HaveUpdate: {
      expectLength(rest >= 4 && rest % 4 === 0 && rest / 4 <= MAX_HAVE_UPDATE_INDEXES, 'HAVE_UPDATE')
      const indexes: number[] = []
      for (let at = HEADER; at < bytes.byteLength; at += 4) indexes.push(v.getUint32(at))
      return { type, id, indexes }
    }
    default:
      throw new FrameDecodeError(`Unknown frame type 0x${type.toString(16)}`)
  }
}

function header (type: FrameType, id: number, extra: number): Uint8Array {
  const buf = new Uint8Array(HEADER + extra)
  buf[0] = type
  view(buf).setUint32(1, id)
  return buf
}

function view (buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
}

function contentIdBytes (contentId: string): Uint8Array {
  const bytes = fromHex(contentId)
  if (bytes.byteLength !== CONTENT_ID_BYTES) throw new RangeError('A content id is 32 bytes')
  return bytes
}

function status (value: number): Status {
  if (value > Status.Elsewhere) throw new FrameDecodeError(`Unknown status ${value}`)
  return value as Status
}

function expectLength (ok: boolean, what: string): void {
  if (!ok) throw new FrameDecodeError(`${what} has the wrong length`)
}
