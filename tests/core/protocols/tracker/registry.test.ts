import { describe, expect, it } from 'vitest'
import { TrackerRegistry } from '@core/protocols/tracker/registry'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)

function clock (start = 1_000): { now: () => number, advance(ms: number): void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('TrackerRegistry', () => {
  it('finds who announced, seeders first and the origin last', () => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now })
    r.announce('origin', ['/ip4/127.0.0.1/tcp/1'], [{ contentId: A, complete: true }], { origin: true, pinned: true })
    r.announce('partial', ['/ip4/127.0.0.1/tcp/2'], [{ contentId: A, complete: false }])
    c.advance(1)
    r.announce('seeder', ['/ip4/127.0.0.1/tcp/3'], [{ contentId: A, complete: true }])
    expect(r.find(A).map(p => p.peer)).toEqual(['seeder', 'partial', 'origin'])
    expect(r.find(A, { exclude: 'seeder' }).map(p => p.peer)).toEqual(['partial', 'origin'])
    expect(r.find(A, { limit: 1 }).map(p => p.peer)).toEqual(['seeder'])
    expect(r.find(B)).toEqual([])
  })

  it('expires entries unless they are announced again', () => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now, ttlMs: 1000 })
    r.announce('p1', [], [{ contentId: A, complete: true }])
    r.announce('p2', [], [{ contentId: A, complete: true }])
    c.advance(600)
    r.announce('p2', [], [{ contentId: A, complete: true }]) // renewed
    c.advance(500)
    expect(r.find(A).map(p => p.peer)).toEqual(['p2'])
    expect(r.size()).toBe(1)
    c.advance(1000)
    expect(r.find(A)).toEqual([])
    expect(r.size()).toBe(0)
  })

  it('never expires pinned entries, and keeps them when their peer disconnects', () => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now, ttlMs: 10 })
    r.announce('origin', [], [{ contentId: A, complete: true }], { origin: true, pinned: true })
    r.announce('origin', [], [{ contentId: B, complete: false }])
    c.advance(1e9)
    r.removePeer('origin')
    expect(r.find(A).map(p => p.peer)).toEqual(['origin'])
    expect(r.find(B)).toEqual([])
  })

  it('forgets a peer that disconnects, and withdrawn contents', () => {
    const r = new TrackerRegistry()
    r.announce('p1', [], [{ contentId: A, complete: true }, { contentId: B, complete: false }])
    r.withdraw('p1', [B])
    expect(r.find(B)).toEqual([])
    expect(r.find(A)).toHaveLength(1)
    r.removePeer('p1')
    expect(r.find(A)).toEqual([])
    expect(r.size()).toBe(0)
  })

  it('caps the entries one peer may hold', () => {
    const r = new TrackerRegistry({ maxEntriesPerPeer: 2 })
    const ids = ['1', '2', '3'].map(d => d.repeat(64))
    expect(r.announce('p', [], ids.map(contentId => ({ contentId, complete: true })))).toBe(2)
    expect(r.size()).toBe(2)
    // renewing what it already holds is still accepted
    expect(r.announce('p', [], [{ contentId: ids[0] as string, complete: true }])).toBe(1)
  })
})
