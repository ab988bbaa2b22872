import { describe, expect, it } from 'vitest'
import { Bitfield } from '@core/swarm/bitfield'

describe('Bitfield', () => {
  it('counts, sets and clears, most significant bit first', () => {
    const b = new Bitfield(10)
    b.set(0)
    b.set(9)
    b.set(9)
    expect(b.count()).toBe(2)
    expect([...b.toBytes()]).toEqual([0x80, 0x40])
    b.clear(0)
    expect([...b.indices()]).toEqual([9])
    expect(() => b.set(10)).toThrow(RangeError)
  })

  it('refuses bytes of the wrong length or with bits past the end', () => {
    expect(() => new Bitfield(10, new Uint8Array(1))).toThrow(RangeError)
    expect(() => new Bitfield(10, new Uint8Array([0, 0x01]))).toThrow(RangeError)
    expect(Bitfield.full(10).isComplete()).toBe(true)
  })

  it('owns its bytes even when given a Node Buffer (whose slice is a view)', () => {
    const buffer = Buffer.from([0xff, 0xc0])
    const b = new Bitfield(10, buffer)
    const clone = b.clone()
    buffer[0] = 0
    clone.clear(0)
    expect(b.count()).toBe(10)
    expect(b.has(0)).toBe(true)
    expect(clone.count()).toBe(9)
  })
})
