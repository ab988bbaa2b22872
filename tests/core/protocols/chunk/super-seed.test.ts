import { describe, expect, it } from 'vitest'
import { SuperSeed, type SuperSeedDecision } from '@core/protocols/chunk/super-seed'

function setup (listed: Set<string>): { seed: SuperSeed, advance(ms: number): void, decisions: SuperSeedDecision[] } {
  let t = 1000
  const decisions: SuperSeedDecision[] = []
  const seed = new SuperSeed({ present: (_c, peer) => listed.has(peer), recentMs: 8000, now: () => t, onDecision: d => decisions.push(d) })
  return { seed, advance: ms => { t += ms }, decisions }
}

describe('SuperSeed', () => {
  it('sends a chunk once to the members of a swarm, then again once the window has passed', () => {
    const { seed, advance } = setup(new Set(['a', 'b']))
    expect(seed.admit('a', 'c1', 0)).toBe(true)
    expect(seed.admit('b', 'c1', 0)).toBe(false)
    // other chunks, and the same chunk of another content, are not held back
    expect(seed.admit('b', 'c1', 1)).toBe(true)
    expect(seed.admit('b', 'c2', 0)).toBe(true)
    advance(7999)
    expect(seed.admit('b', 'c1', 0)).toBe(false)
    advance(1)
    expect(seed.admit('b', 'c1', 0)).toBe(true)
  })

  it('sends again to the peer that asked first (its answer was lost)', () => {
    const { seed } = setup(new Set(['a', 'b']))
    expect(seed.admit('a', 'c1', 0)).toBe(true)
    expect(seed.admit('a', 'c1', 0)).toBe(true)
  })

  it('holds nothing back once the recipient left the swarm', () => {
    const listed = new Set(['a', 'b'])
    const { seed } = setup(listed)
    expect(seed.admit('a', 'c1', 0)).toBe(true)
    listed.delete('a')
    expect(seed.admit('b', 'c1', 0)).toBe(true)
  })

  it('holds nothing back from a requester that is not in the swarm (it cannot trade)', () => {
    const { seed } = setup(new Set(['a']))
    expect(seed.admit('a', 'c1', 0)).toBe(true)
    expect(seed.admit('outsider', 'c1', 0)).toBe(true)
  })

  it('forgets what it sent long ago', () => {
    const { seed, advance } = setup(new Set(['a', 'b']))
    for (let i = 0; i < 100; i++) seed.admit('a', 'c1', i)
    advance(9000)
    expect(seed.admit('b', 'c1', 5)).toBe(true)
    expect((seed as any).sent.get('c1').size).toBe(1)
  })

  it('says why each chunk went or was held back (the relay counts them in /metrics)', () => {
    const listed = new Set(['a', 'b'])
    const { seed, advance, decisions } = setup(listed)
    seed.admit('a', 'c1', 0) // first
    seed.admit('a', 'c1', 0) // same
    seed.admit('b', 'c1', 0) // held
    seed.admit('outsider', 'c1', 0) // unlisted: the requester
    listed.delete('a')
    seed.admit('b', 'c1', 1) // first
    seed.admit('a', 'c1', 1) // unlisted: the requester left
    listed.add('a')
    expect(seed.admit('b', 'c1', 1, true)).toBe(true) // isolated: held back but for the flag
    advance(8000)
    seed.admit('a', 'c1', 1) // first again: the window passed
    expect(decisions).toEqual(['first', 'same', 'held', 'unlisted', 'first', 'unlisted', 'isolated', 'first'])
  })
})
