import { describe, expect, it } from 'vitest'
import { UploadLimiter } from '@core/swarm/upload-limiter'

describe('UploadLimiter', () => {
  it('lets a second of bytes through at once, then paces the rest', async () => {
    let t = 0
    const limiter = new UploadLimiter(1000, () => t)
    await limiter.take(1500) // the first chunk may run into debt
    let done = false
    const next = limiter.take(100).then(() => { done = true })
    await Promise.resolve()
    expect(done).toBe(false)
    t += 600 // debt 500 repaid, +100 credit
    await next
    expect(done).toBe(true)
  })

  it('is off at 0 and unlimited at Infinity', async () => {
    expect(new UploadLimiter(0).allow()).toBe(false)
    const on = new UploadLimiter()
    expect(on.allow()).toBe(true)
    await on.take(1e12)
    await on.take(1e12)
  })

  it('stops waiting when aborted', async () => {
    const limiter = new UploadLimiter(1)
    await limiter.take(1000)
    await expect(limiter.take(1, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone')
  })
})
