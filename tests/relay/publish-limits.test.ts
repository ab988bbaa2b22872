import { describe, expect, it } from 'vitest'
import { SlidingWindowLimit } from '../../relay/published/limits'

describe('SlidingWindowLimit', () => {
  // [what, actions at these times (ms), asked at, expected wait]
  const cases: Array<[string, number[], number, number]> = [
    ['nothing yet', [], 0, 0],
    ['under the limit', [0, 10], 20, 0],
    ['at the limit: until the oldest leaves the window', [0, 10, 20], 30, 970],
    ['the oldest left the window: room again', [0, 10, 20], 1000, 0],
    ['full again: the next oldest decides', [0, 10, 20, 1000], 1005, 5],
    ['never 0 while refused (1 ms at least)', [0, 0, 0], 999.5, 1]
  ]
  it.each(cases)('%s', (_what, times, at, wait) => {
    let t = 0
    const limit = new SlidingWindowLimit(3, 1000, () => t)
    for (const time of times) { t = time; limit.record('a') }
    t = at
    expect(limit.wait('a')).toBeCloseTo(wait, 5)
    expect(limit.wait('b')).toBe(0)
  })

  it('forgets keys whose window passed (memory stays bounded under a flood of addresses)', () => {
    let t = 0
    const limit = new SlidingWindowLimit(1, 1000, () => t)
    for (let i = 0; i < 10_001; i++) limit.record(`k${i}`)
    expect(limit.size).toBe(10_001)
    t = 1000
    limit.record('late')
    expect(limit.size).toBe(1)
  })
})
