import { describe, expect, it } from 'vitest'
import { RateMeter } from '@core/swarm/rate'

describe('RateMeter', () => {
  it('measures bytes per second over its window, and forgets what is older', () => {
    let t = 10_000
    const meter = new RateMeter(4000, 16, () => t)
    expect(meter.rate()).toBe(0)
    for (let i = 0; i < 8; i++) { meter.add(1000); t += 500 }
    t -= 1 // still within 4 s of the first add
    expect(meter.rate()).toBeCloseTo(2000, -1)
    t += 5000
    expect(meter.rate()).toBe(0)
  })

  it('is not read as slow just after the first bytes', () => {
    let t = 0
    const meter = new RateMeter(4000, 16, () => t)
    meter.add(1_000_000)
    t += 500
    // 1 MB in 0.5 s, not 1 MB in the 4 s window
    expect(meter.rate()).toBeCloseTo(2_000_000, -4)
  })
})
