import { describe, expect, it } from 'vitest'
import { decideRange, rangeReply, type RangeDecision } from '@core/http/range'
import { decideRange as relayDecideRange } from '../../../relay/http/range'

const full: RangeDecision = { kind: 'full' }
const none: RangeDecision = { kind: 'unsatisfiable' }
const part = (start: number, end: number): RangeDecision => ({ kind: 'partial', start, end })

/**
 * The relay's table (tests/relay/range.test.ts) runs through the relay's
 * re-export; this one runs from the core path, at the sizes the service
 * worker meets: chunk boundaries of 256 KiB, a one-byte file.
 */
describe('decideRange from @core/http (the service worker and the relay share it)', () => {
  it('the relay re-exports the core function: one implementation', () => {
    expect(relayDecideRange).toBe(decideRange)
  })

  const KIB256 = 256 * 1024
  const SIZE = 3 * KIB256 + 100 // three full chunks and a short last one
  const table: Array<[string | undefined, number, RangeDecision]> = [
    [undefined, SIZE, full],
    ['bytes=0-1', SIZE, part(0, 1)],
    ['bytes=-1', SIZE, part(SIZE - 1, SIZE - 1)],
    [`bytes=${SIZE - 1}-`, SIZE, part(SIZE - 1, SIZE - 1)],
    [`bytes=${KIB256 - 10}-${KIB256 + 9}`, SIZE, part(KIB256 - 10, KIB256 + 9)], // spans two chunks
    ['bytes=-200', SIZE, part(SIZE - 200, SIZE - 1)], // suffix across the last two chunks
    [`bytes=${SIZE}-`, SIZE, none],
    [`bytes=${SIZE}-${SIZE + 10}`, SIZE, none],
    ['bytes=-0', SIZE, none],
    ['bytes=0-1,4-5', SIZE, full],
    ['bytes=9-3', SIZE, full],
    ['bytes=0-', 1, part(0, 0)],
    ['bytes=-5', 1, part(0, 0)],
    ['bytes=1-', 1, none]
  ]
  it.each(table)('%j of %i bytes', (header, size, expected) => {
    expect(decideRange(header, size)).toEqual(expected)
  })
})

describe('rangeReply', () => {
  it.each([
    [{ kind: 'full' }, 10, { status: 200, start: 0, end: 9, headers: { 'Content-Length': '10' } }],
    [{ kind: 'partial', start: 2, end: 5 }, 10, { status: 206, start: 2, end: 5, headers: { 'Content-Length': '4', 'Content-Range': 'bytes 2-5/10' } }],
    [{ kind: 'partial', start: 9, end: 9 }, 10, { status: 206, start: 9, end: 9, headers: { 'Content-Length': '1', 'Content-Range': 'bytes 9-9/10' } }],
    [{ kind: 'unsatisfiable' }, 10, { status: 416, headers: { 'Content-Range': 'bytes */10' } }]
  ] as const)('%j of %d bytes', (decision, size, expected) => {
    expect(rangeReply(decision as RangeDecision, size)).toEqual(expected)
  })
})
