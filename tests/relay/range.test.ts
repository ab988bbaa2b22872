import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decideRange, type RangeDecision } from '../../relay/http/range'

const SIZE = 1000
const full: RangeDecision = { kind: 'full' }
const none: RangeDecision = { kind: 'unsatisfiable' }
const part = (start: number, end: number): RangeDecision => ({ kind: 'partial', start, end })

describe('decideRange (RFC 9110 §14.2), size 1000', () => {
  const table: Array<[string | undefined, RangeDecision]> = [
    [undefined, full],
    ['bytes=0-1', part(0, 1)],
    ['bytes=0-0', part(0, 0)],
    ['bytes=999-', part(999, 999)],
    ['bytes=999-999', part(999, 999)],
    ['bytes=500-', part(500, 999)],
    ['bytes=0-', part(0, 999)],
    ['bytes=10-5000', part(10, 999)], // last-pos past the end is clamped
    ['bytes=-500', part(500, 999)],
    ['bytes=-1', part(999, 999)],
    ['bytes=-1000', part(0, 999)],
    ['bytes=-5000', part(0, 999)], // suffix longer than the file: all of it
    ['BYTES=1-2', part(1, 2)], // the unit is case-insensitive
    ['bytes=1-2, ', part(1, 2)], // empty list elements are allowed
    ['bytes= 1-2', part(1, 2)],
    ['bytes=99999999999999999999999-', none],
    ['bytes=1000-', none],
    ['bytes=1000-1000', none],
    ['bytes=5000-6000', none],
    ['bytes=-0', none],
    // syntactically invalid: ignored, the whole file
    ['bytes=5-1', full],
    ['bytes=-', full],
    ['bytes=', full],
    ['bytes=a-b', full],
    ['bytes=1-2-3', full],
    ['bytes=+1-2', full],
    ['bytes=1.5-2', full],
    ['bytes 0-1', full],
    ['items=0-1', full],
    ['0-1', full],
    ['', full],
    // more than one range: we answer with the whole file
    ['bytes=0-1,5-6', full],
    ['bytes=0-1, 2000-3000', full],
    ['bytes=-0,-0', full]
  ]
  it.each(table)('%j', (header, expected) => {
    expect(decideRange(header, SIZE)).toEqual(expected)
  })

  it('a header longer than 1 KiB is ignored', () => {
    expect(decideRange(`bytes=0-1${' '.repeat(2000)}`, SIZE)).toEqual(full)
  })

  it('a partial answer always lies inside the file and is never empty', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1e12 }), fc.option(fc.nat()), fc.option(fc.nat()),
      (size, a, b) => {
        if (a == null && b == null) return
        const d = decideRange(`bytes=${a ?? ''}-${b ?? ''}`, size)
        if (d.kind !== 'partial') return
        expect(d.start).toBeGreaterThanOrEqual(0)
        expect(d.end).toBeLessThan(size)
        expect(d.start).toBeLessThanOrEqual(d.end)
      }
    ))
  })
})
