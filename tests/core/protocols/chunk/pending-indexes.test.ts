import { describe, expect, it } from 'vitest'
import { PendingIndexes } from '@core/protocols/chunk/pending-indexes'

describe('PendingIndexes: what a HAVE subscription has yet to push', () => {
  const cases: Array<{ name: string, length: number, add: number[], max: number, taken: number[][] }> = [
    { name: 'nothing pending', length: 10, add: [], max: 4, taken: [[]] },
    { name: 'lowest first, whatever the order they landed in', length: 20, add: [9, 2, 17, 0], max: 10, taken: [[0, 2, 9, 17], []] },
    { name: 'an index pending twice is pending once', length: 8, add: [3, 3, 5, 3], max: 10, taken: [[3, 5]] },
    { name: 'at most `max` a time, the rest next', length: 40, add: [39, 1, 8, 16, 24, 32], max: 4, taken: [[1, 8, 16, 24], [32, 39], []] },
    { name: 'out of range ignored', length: 5, add: [5, -1, 1.5, 4], max: 10, taken: [[4]] },
    { name: 'across whole empty bytes', length: 1000, add: [999, 0, 511], max: 2, taken: [[0, 511], [999]] }
  ]
  it.each(cases)('$name', ({ length, add, max, taken }) => {
    const pending = new PendingIndexes(length)
    for (const i of add) pending.add(i)
    for (const expected of taken) expect(pending.take(max)).toEqual(expected)
    expect(pending.size).toBe(0)
  })

  it('add says whether the index is newly pending; an index taken may be pending again', () => {
    const pending = new PendingIndexes(16)
    expect(pending.add(7)).toBe(true)
    expect(pending.add(7)).toBe(false)
    expect(pending.add(16)).toBe(false)
    expect(pending.size).toBe(1)
    expect(pending.take(1)).toEqual([7])
    expect(pending.add(3)).toBe(true)
    expect(pending.add(7)).toBe(true)
    expect(pending.take(5)).toEqual([3, 7])
  })

  it('a chunk landing again and again while unread is pushed once, all of them in order', () => {
    const pending = new PendingIndexes(100_000)
    for (let round = 0; round < 3; round++) for (let i = 0; i < 100_000; i += 3) pending.add(i)
    expect(pending.size).toBe(33_334)
    const all: number[] = []
    for (let batch = pending.take(1024); batch.length > 0; batch = pending.take(1024)) all.push(...batch)
    expect(all.length).toBe(33_334)
    expect(all.every((v, k) => v === k * 3)).toBe(true)
  })
})
