import { describe, expect, it } from 'vitest'
import type { ContentId } from '@core/content/manifest'
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
    expect(r.find(B)).toEqual([])
  })

  it('keeps the origin in an answer the limit cuts short', () => {
    const r = new TrackerRegistry()
    r.announce('origin', ['/ip4/127.0.0.1/tcp/1'], [{ contentId: A, complete: true }], { origin: true, pinned: true })
    for (let k = 0; k < 5; k++) r.announce(`p${k}`, [], [{ contentId: A, complete: false }])
    const found = r.find(A, { limit: 3 })
    expect(found).toHaveLength(3)
    expect(found.at(-1)?.peer).toBe('origin')
    expect(r.find(A, { limit: 1 }).map(p => p.peer)).toEqual(['origin'])
  })

  it('lists the downloaders, the same capped list to every asker, and counts them all', () => {
    const r = new TrackerRegistry()
    r.announce('origin', [], [{ contentId: A, complete: true }], { origin: true, pinned: true })
    r.announce('seeder', [], [{ contentId: A, complete: true }])
    for (const id of ['p3', 'p1', 'p4', 'p2']) r.announce(id, [], [{ contentId: A, complete: false }])
    // neither the origin nor a seeder takes a share of the origin: they are not members
    expect(r.members(A, 10)).toEqual({ ids: ['p1', 'p2', 'p3', 'p4'], count: 4 })
    // capped: the lowest ids, whoever asks, and the count says how many there are
    expect(r.members(A, 2)).toEqual({ ids: ['p1', 'p2'], count: 4 })
    r.announce('p1', [], [{ contentId: A, complete: true }])
    expect(r.members(A, 10)).toEqual({ ids: ['p2', 'p3', 'p4'], count: 3 })
    expect(r.members(B, 10)).toEqual({ ids: [], count: 0 })
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

  it('caps the entries of all peers together: many identities cannot pin memory; withdrawals, disconnects and expiry make room; renewals and pinned entries always pass', () => {
    const c = clock()
    const r = new TrackerRegistry({ maxEntries: 4, ttlMs: 1000, now: c.now })
    const ids = ['1', '2', '3', '4', '5'].map(d => d.repeat(64))
    const entry = (i: number): Array<{ contentId: ContentId, complete: boolean }> => [{ contentId: ids[i] as string, complete: false }]
    for (let i = 0; i < 4; i++) expect(r.announce(`p${i}`, [], entry(i))).toBe(1)
    expect(r.announce('p4', [], entry(4))).toBe(0)
    expect(r.find(ids[4] as string)).toEqual([])
    expect(r.announce('p0', [], entry(0))).toBe(1)
    // the relay's own library always fits (and counts)
    expect(r.announce('origin', [], entry(4), { origin: true, pinned: true })).toBe(1)
    r.withdraw('p0', [ids[0] as string])
    expect(r.announce('p4', [], entry(4))).toBe(0)
    r.removePeer('p1')
    expect(r.announce('p4', [], entry(4))).toBe(1)
    expect(r.announce('p5', [], entry(1))).toBe(0)
    c.advance(1000)
    expect(r.announce('p5', [], entry(1))).toBe(1)
    expect(r.size()).toBe(2)
  })
})

describe('TrackerRegistry: counting holders', () => {
  const cases: Array<[string, (r: TrackerRegistry, c: ReturnType<typeof clock>) => void, { peers: number, seeders: number }]> = [
    ['nobody', () => {}, { peers: 0, seeders: 0 }],
    ['the origin alone is not counted', r => {
      r.announce('origin', [], [{ contentId: A, complete: true }], { origin: true, pinned: true })
    }, { peers: 0, seeders: 0 }],
    ['a seeder and a partial holder', r => {
      r.announce('s', [], [{ contentId: A, complete: true }])
      r.announce('p', [], [{ contentId: A, complete: false }])
      r.announce('other', [], [{ contentId: B, complete: true }])
    }, { peers: 2, seeders: 1 }],
    ['a partial holder that finished', r => {
      r.announce('p', [], [{ contentId: A, complete: false }])
      r.announce('p', [], [{ contentId: A, complete: true }])
    }, { peers: 1, seeders: 1 }],
    ['a withdrawn holder', r => {
      r.announce('p', [], [{ contentId: A, complete: true }])
      r.withdraw('p', [A])
    }, { peers: 0, seeders: 0 }],
    ['an expired holder', (r, c) => {
      r.announce('p', [], [{ contentId: A, complete: true }])
      c.advance(1000)
    }, { peers: 0, seeders: 0 }]
  ]
  it.each(cases)('%s', (_name, act, expected) => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now, ttlMs: 1000 })
    act(r, c)
    expect(r.countHolders(A)).toEqual(expected)
  })
})

describe('TrackerRegistry: change listeners', () => {
  type Step = (r: TrackerRegistry, c: ReturnType<typeof clock>) => void
  const announce = (peer: string, complete = true, id = A): Step => r => { r.announce(peer, [], [{ contentId: id, complete }]) }
  const cases: Array<[string, Step[], Step, ContentId[][]]> = [
    ['a new holder', [], announce('p'), [[A]]],
    ['a renewal that changes nothing', [announce('p')], announce('p'), []],
    ['a holder that finished', [announce('p', false)], announce('p', true), [[A]]],
    ['a withdraw', [announce('p')], r => { r.withdraw('p', [A]) }, [[A]]],
    ['a withdraw of what the peer never held', [announce('q')], r => { r.withdraw('p', [A]) }, []],
    ['a disconnect, once for all its contents', [announce('p', true, A), announce('p', true, B)], r => { r.removePeer('p') }, [[A, B]]],
    ['an expiry noticed by sweep()', [announce('p')], (r, c) => { c.advance(1000); r.sweep() }, [[A]]],
    ['an expiry noticed by find()', [announce('p')], (r, c) => { c.advance(1000); r.find(A) }, [[A]]],
    ['a sweep before anything expired', [announce('p')], (r, c) => { c.advance(999); r.sweep() }, []],
    ['an announce after an expiry nobody noticed', [announce('p')], (r, c) => { c.advance(1000); announce('p')(r, c) }, [[A]]],
    ['the origin pinning its library', [], r => { r.announce('o', [], [{ contentId: A, complete: true }, { contentId: B, complete: true }], { origin: true, pinned: true }) }, [[A, B]]]
  ]
  it.each(cases)('%s', (_name, before, act, expected) => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now, ttlMs: 1000 })
    for (const step of before) step(r, c)
    const told: ContentId[][] = []
    const off = r.onChange(ids => { told.push([...ids].sort()) })
    act(r, c)
    expect(told).toEqual(expected)
    off()
    announce('late', false, B)(r, c)
    expect(told).toEqual(expected) // unsubscribed
  })

  it('sweep() finds expiries after renewals moved them, and a throwing listener harms no one', () => {
    const c = clock()
    const r = new TrackerRegistry({ now: c.now, ttlMs: 1000 })
    const told: ContentId[][] = []
    r.onChange(() => { throw new Error('listener bug') })
    r.onChange(ids => { told.push([...ids]) })
    announce('p', true, A)(r, c)
    announce('q', true, B)(r, c)
    c.advance(600)
    announce('p', true, A)(r, c) // renewed at 1600: now expires at 2600
    c.advance(400)
    r.sweep() // q expired, p did not
    expect(told.slice(-1)).toEqual([[B]])
    c.advance(599)
    r.sweep()
    expect(told).toHaveLength(3)
    c.advance(1)
    r.sweep()
    expect(told.slice(-1)).toEqual([[A]])
    expect(r.size()).toBe(0)
  })
})
