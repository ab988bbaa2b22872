import { describe, expect, it } from 'vitest'
import { UploadLimiter } from '@core/swarm/upload-limiter'

describe('UploadLimiter', () => {
  it('lets a second of bytes through, then refills with time', () => {
    let t = 0
    const limiter = new UploadLimiter(1000, () => t)
    expect(limiter.allow()).toBe(true)
    limiter.spent(1500) // one chunk may overshoot: the debt is paid back first
    expect(limiter.allow()).toBe(false)
    t += 400
    expect(limiter.allow()).toBe(false) // -500 + 400
    t += 200
    expect(limiter.allow()).toBe(true)
  })

  it('never allows at 0 and always at Infinity', () => {
    const off = new UploadLimiter(0)
    expect(off.allow()).toBe(false)
    const on = new UploadLimiter()
    on.spent(1e12)
    expect(on.allow()).toBe(true)
  })

  it('a lower limit takes effect at once', () => {
    let t = 0
    const limiter = new UploadLimiter(1e9, () => t)
    limiter.setLimit(100)
    limiter.spent(150)
    expect(limiter.allow()).toBe(false)
    t += 1000
    expect(limiter.allow()).toBe(true)
  })
})
