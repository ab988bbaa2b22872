import { describe, expect, it } from 'vitest'
import { PeerRateLimit } from '../../../web/peer/chat/rate-limit'

describe('PeerRateLimit', () => {
  it('admits a burst, then the refill rate, per peer', () => {
    let now = 0
    const limit = new PeerRateLimit(3, 2, () => now)
    expect([1, 2, 3, 4].map(() => limit.admit('a'))).toEqual([true, true, true, false])
    // another peer has its own bucket
    expect(limit.admit('b')).toBe(true)
    now += 500 // one token back at 2 per second
    expect([limit.admit('a'), limit.admit('a')]).toEqual([true, false])
    now += 10_000 // never more than the burst
    expect([1, 2, 3, 4].map(() => limit.admit('a'))).toEqual([true, true, true, false])
  })
})
