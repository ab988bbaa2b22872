import { describe, expect, it } from 'vitest'
import { DEFAULT_REDIAL, redialDelayMs } from '../../../relay/peers/index'

describe('redialDelayMs: when a lost or unreachable peer relay is dialled again', () => {
  it.each([
    // failures, random, expected (ms): 1 s doubling to 60 s, the last quarter drawn at random
    [0, 0, 750],
    [0, 1, 1000],
    [1, 0.5, 1750],
    [3, 0, 6000],
    [5, 1, 32_000],
    [6, 1, 60_000],
    [40, 0, 45_000],
    [-1, 1, 1000]
  ])('after %d failures (random %d): %d ms', (failures, random, expected) => {
    expect(redialDelayMs(failures, DEFAULT_REDIAL, random)).toBe(expected)
  })

  it('never waits more than the maximum, and never stops', () => {
    for (let f = 0; f < 1000; f += 37) {
      const d = redialDelayMs(f, { minMs: 100, maxMs: 400 }, Math.random())
      expect(d).toBeGreaterThanOrEqual(75)
      expect(d).toBeLessThanOrEqual(400)
    }
  })
})
