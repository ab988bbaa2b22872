import { describe, expect, it } from 'vitest'
import { originShare } from '@core/swarm/share'

const ids = (n: number, prefix = 'peer'): string[] => Array.from({ length: n }, (_, k) => `12D3KooW${prefix}${k}`)

function owners (members: string[], chunks: number): number[] {
  const counts = new Array<number>(chunks).fill(0)
  for (const m of members) originShare(m, members, chunks).forEach((bit, i) => { counts[i]! += bit })
  return counts
}

describe('originShare', () => {
  it('alone, every chunk is this session\'s', () => {
    expect([...originShare('me', [], 7)]).toEqual([1, 1, 1, 1, 1, 1, 1])
    expect([...originShare('me', ['me'], 3)]).toEqual([1, 1, 1])
  })

  it('members that know the same swarm split the chunks: each exactly once', () => {
    for (const n of [2, 5, 30, 100]) {
      expect(owners(ids(n), 256).every(c => c === 1)).toBe(true)
    }
  })

  it('each member gets about 1/n of the chunks', () => {
    const members = ids(30)
    const sizes = members.map(m => originShare(m, members, 4096).reduce((a, b) => a + b, 0))
    const mean = 4096 / 30
    // binomial spread: 3 standard deviations of ~11.4 chunks
    for (const size of sizes) expect(Math.abs(size - mean)).toBeLessThan(40)
  })

  it('a member that joins takes about 1/(n+1) of each share; the rest stay where they were', () => {
    const before = ids(20)
    const after = [...before, '12D3KooWlate']
    let moved = 0
    for (const m of before) {
      const a = originShare(m, before, 1024)
      const b = originShare(m, after, 1024)
      for (let i = 0; i < 1024; i++) {
        // a member's share only shrinks: nothing moves between old members
        expect(b[i]! <= a[i]!).toBe(true)
        moved += a[i]! - b[i]!
      }
    }
    expect(moved).toBe(originShare('12D3KooWlate', after, 1024).reduce((x, y) => x + y, 0))
    expect(moved).toBeGreaterThan(1024 / 21 / 2)
    expect(moved).toBeLessThan(1024 / 21 * 2)
  })

  it('the order members are known in does not matter', () => {
    const members = ids(10)
    expect(originShare(members[3]!, members, 300)).toEqual(originShare(members[3]!, [...members].reverse(), 300))
  })
})
