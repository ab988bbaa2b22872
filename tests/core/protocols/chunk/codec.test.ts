import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame, FrameType, Status, type Frame } from '@core/protocols/chunk/codec'
import { MAX_FRAME_BYTES, MAX_HAVE_UPDATE_INDEXES } from '@core/protocols/chunk/constants'

const CID = 'ab'.repeat(32)

function roundTrip (frame: Frame): Frame {
  const encoded = encodeFrame(frame).subarray()
  // strip the varint length prefix
  let at = 0
  while (((encoded[at] as number) & 0x80) !== 0) at++
  return decodeFrame(encoded.subarray(at + 1))
}

describe('chunk protocol codec', () => {
  const frames: Array<[string, Frame]> = [
    ['have request', { type: FrameType.HaveRequest, id: 7, contentId: CID }],
    ['have response', { type: FrameType.HaveResponse, id: 8, status: Status.Ok, bitfield: new Uint8Array([0xf0, 0x01]) }],
    ['chunk request', { type: FrameType.ChunkRequest, id: 0xffffffff, contentId: CID, index: 123456 }],
    ['chunk request of an isolated requester', { type: FrameType.ChunkRequest, id: 3, contentId: CID, index: 7, isolated: true }],
    ['chunk response', { type: FrameType.ChunkResponse, id: 9, status: Status.Ok, index: 3, data: new Uint8Array(1000).fill(5) }],
    ['busy response', { type: FrameType.ChunkResponse, id: 9, status: Status.Busy, index: 3, data: new Uint8Array(0) }],
    ['cancel', { type: FrameType.Cancel, id: 42 }],
    ['have subscribe', { type: FrameType.HaveSubscribe, id: 11, contentId: CID }],
    ['have update of one chunk', { type: FrameType.HaveUpdate, id: 11, indexes: [0xfffffffe] }],
    ['have update of many chunks', { type: FrameType.HaveUpdate, id: 12, indexes: [0, 3, 17, 4096] }],
    ['have update of the most chunks a frame carries', { type: FrameType.HaveUpdate, id: 13, indexes: Array.from({ length: MAX_HAVE_UPDATE_INDEXES }, (_, i) => i * 2) }]
  ]
  it.each(frames)('round-trips a %s', (_, frame) => {
    expect(roundTrip(frame)).toEqual(frame)
  })

  const malformed: Array<[string, number[]]> = [
    ['empty', []],
    ['header only partly', [1, 0, 0]],
    ['unknown type', [9, 0, 0, 0, 1]],
    ['have request without content id', [1, 0, 0, 0, 1]],
    ['have request with a short content id', [1, 0, 0, 0, 1, ...new Array(31).fill(1)]],
    ['chunk request missing the index', [3, 0, 0, 0, 1, ...new Array(32).fill(1)]],
    ['chunk request with an unknown flag', [3, 0, 0, 0, 1, ...new Array(32).fill(1), 0, 0, 0, 1, 0x02]],
    ['chunk request with two flag bytes', [3, 0, 0, 0, 1, ...new Array(32).fill(1), 0, 0, 0, 1, 0x01, 0x01]],
    ['chunk response without status', [4, 0, 0, 0, 1]],
    ['chunk response with an unknown status', [4, 0, 0, 0, 1, 9, 0, 0, 0, 0]],
    ['error status carrying data', [4, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 2, 3]],
    ['cancel with trailing bytes', [5, 0, 0, 0, 1, 0]],
    ['have subscribe without content id', [6, 0, 0, 0, 1]],
    ['have subscribe with a long content id', [6, 0, 0, 0, 1, ...new Array(33).fill(1)]],
    ['have update without an index', [7, 0, 0, 0, 1]],
    ['have update with a partial index', [7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]],
    ['have update with more indexes than a frame may carry', [7, 0, 0, 0, 1, ...new Array(4 * (MAX_HAVE_UPDATE_INDEXES + 1)).fill(0)]]
  ]
  it.each(malformed)('rejects %s', (_, bytes) => {
    expect(() => decodeFrame(new Uint8Array(bytes))).toThrow(expect.objectContaining({ name: 'FrameDecodeError' }))
  })

  it('sends the flags byte of a chunk request only when a flag is set: a plain request is what it was before', () => {
    const plain = encodeFrame({ type: FrameType.ChunkRequest, id: 1, contentId: CID, index: 2 }).subarray()
    const flagged = encodeFrame({ type: FrameType.ChunkRequest, id: 1, contentId: CID, index: 2, isolated: true }).subarray()
    expect(flagged.byteLength).toBe(plain.byteLength + 1)
    expect(flagged.at(-1)).toBe(0x01)
    expect(encodeFrame({ type: FrameType.ChunkRequest, id: 1, contentId: CID, index: 2, isolated: false }).subarray()).toEqual(plain)
  })

  it('rejects an oversized frame, and refuses to encode one', () => {
    const big = new Uint8Array(MAX_FRAME_BYTES + 1)
    big[0] = FrameType.ChunkResponse
    expect(() => decodeFrame(big)).toThrow(expect.objectContaining({ name: 'FrameDecodeError' }))
    expect(() => encodeFrame({ type: FrameType.ChunkResponse, id: 1, status: Status.Ok, index: 0, data: new Uint8Array(MAX_FRAME_BYTES) }))
      .toThrow(RangeError)
  })

  it('refuses to encode a HAVE_UPDATE without indexes or with too many', () => {
    expect(() => encodeFrame({ type: FrameType.HaveUpdate, id: 1, indexes: [] })).toThrow(RangeError)
    expect(() => encodeFrame({ type: FrameType.HaveUpdate, id: 1, indexes: new Array(MAX_HAVE_UPDATE_INDEXES + 1).fill(0) })).toThrow(RangeError)
  })

  it('never throws anything but FrameDecodeError on random bytes (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        const frame = decodeFrame(bytes)
        // whatever decodes must re-encode to the same bytes
        const again = encodeFrame(frame).subarray()
        expect(again.subarray(again.byteLength - bytes.byteLength)).toEqual(bytes)
      } catch (err: any) {
        expect(err.name).toBe('FrameDecodeError')
      }
    }), { numRuns: 5000 })
  })

  it('decodes random bytes behind every valid type byte without crashing (fuzz)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 7 }), fc.uint8Array({ maxLength: 80 }), (type, rest) => {
      const bytes = new Uint8Array([type, ...rest])
      try {
        expect(decodeFrame(bytes).type).toBe(type)
      } catch (err: any) {
        expect(err.name).toBe('FrameDecodeError')
      }
    }), { numRuns: 5000 })
  })
})
