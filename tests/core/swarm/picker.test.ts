import { describe, expect, it } from 'vitest'
import { pick, type PickInput, type SourceView } from '@core/swarm/picker'

function source (id: string, kind: SourceView['kind'], holds: number[] | 'all', free: number, failed: number[] = []): SourceView {
  return { id, kind, has: i => holds === 'all' || holds.includes(i), free, failed: new Set(failed) }
}

function input (over: Partial<PickInput>): PickInput {
  return {
    chunkCount: 10,
    have: () => false,
    inFlight: new Set(),
    position: 0,
    criticalWindow: 0,
    sources: [],
    urgent: new Set(),
    originAllowed: true,
    ...over
  }
}

describe('pick', () => {
  const cases: Array<[string, Partial<PickInput>, Array<[number, string]>]> = [
    ['nothing to do without free slots',
      { sources: [source('a', 'peer', 'all', 0)] }, []],
    ['the critical window first, in order',
      { position: 4, criticalWindow: 3, sources: [source('a', 'peer', 'all', 3)] },
      [[4, 'a'], [5, 'a'], [6, 'a']]],
    ['rarest first outside the window',
      { chunkCount: 4, sources: [source('a', 'peer', [0, 1, 2, 3], 1), source('b', 'peer', [0, 1, 3], 1), source('c', 'peer', [0, 3], 1)] },
      // rarity: 0→3, 1→2, 2→1, 3→3: chunk 2 (only a) first, then 1 (a or b: a is spent, b), then 0 (c)
      [[2, 'a'], [1, 'b'], [0, 'c']]],
    ['ties broken by distance ahead of the read position',
      { chunkCount: 6, position: 4, sources: [source('a', 'peer', 'all', 3)] },
      [[4, 'a'], [5, 'a'], [0, 'a']]],
    ['skips chunks held or in flight',
      { chunkCount: 5, have: i => i === 0, inFlight: new Set([1]), sources: [source('a', 'peer', 'all', 2)] },
      [[2, 'a'], [3, 'a']]],
    ['the peer with the most free slots',
      { chunkCount: 3, sources: [source('a', 'peer', 'all', 1), source('b', 'peer', 'all', 3)] },
      [[0, 'b'], [1, 'b'], [2, 'a']]],
    ['peers before the origin, the origin before HTTP',
      { chunkCount: 3, sources: [source('o', 'origin', 'all', 5), source('h', 'http', 'all', 5), source('a', 'peer', [1], 5)] },
      // chunks 0 and 2 are rarer (no peer has them), so they come first
      [[0, 'o'], [2, 'o'], [1, 'a']]],
    ['HTTP only for chunks nobody else holds',
      { chunkCount: 3, sources: [source('h', 'http', 'all', 5), source('a', 'peer', [0, 1], 0)] },
      [[2, 'h']]],
    ['HTTP for chunks a reader waits on when peers are busy',
      { chunkCount: 4, criticalWindow: 2, urgent: new Set([1, 3]), sources: [source('h', 'http', 'all', 5), source('a', 'peer', 'all', 0)] },
      [[1, 'h'], [3, 'h']]],
    ['urgent chunks before the window, in order',
      { chunkCount: 6, criticalWindow: 2, urgent: new Set([4]), sources: [source('a', 'peer', 'all', 3)] },
      [[4, 'a'], [0, 'a'], [1, 'a']]],
    ['a peer with a free slot still takes an urgent chunk before the origin',
      { chunkCount: 2, urgent: new Set([0]), sources: [source('o', 'origin', 'all', 5), source('a', 'peer', [0], 1)] },
      [[0, 'a'], [1, 'o']]],
    ['no origin for chunks nobody holds until the peers were asked, except urgent ones',
      { chunkCount: 3, originAllowed: false, urgent: new Set([2]), sources: [source('h', 'http', 'all', 5)] },
      [[2, 'h']]],
    ['a chunk failed at a peer goes to another peer',
      { chunkCount: 1, sources: [source('a', 'peer', 'all', 5, [0]), source('b', 'peer', 'all', 1)] },
      [[0, 'b']]],
    ['a chunk failed at every peer falls back to HTTP',
      { chunkCount: 1, sources: [source('a', 'peer', 'all', 5, [0]), source('h', 'http', 'all', 1)] },
      [[0, 'h']]],
    ['a window past the end is clipped',
      { chunkCount: 3, position: 2, criticalWindow: 10, sources: [source('a', 'peer', 'all', 5)] },
      [[2, 'a'], [0, 'a'], [1, 'a']]],
    ['chunks no peer holds are walked from spreadFrom, after the window',
      { chunkCount: 8, criticalWindow: 2, spreadFrom: 5, sources: [source('o', 'origin', 'all', 8), source('a', 'peer', [3], 0)] },
      // the window (0, 1) in order; then unheld from 5 on, wrapping (5, 6, 7, 2, 4); chunk 3 waits for its holder
      [[0, 'o'], [1, 'o'], [5, 'o'], [6, 'o'], [7, 'o'], [2, 'o'], [4, 'o']]],
    ['spreadFrom leaves the order of chunks peers hold alone',
      { chunkCount: 6, position: 2, spreadFrom: 4, sources: [source('a', 'peer', [0, 1, 2, 3], 4)] },
      [[2, 'a'], [3, 'a'], [0, 'a'], [1, 'a']]],
    ['with a share, the origin takes only its chunks among those nobody holds',
      { chunkCount: 6, originShare: i => i % 2 === 0, sources: [source('o', 'origin', 'all', 6), source('h', 'http', 'all', 6)] },
      [[0, 'o'], [2, 'o'], [4, 'o']]],
    ['a share does not hold back what a reader is blocked on, nor what a peer holds',
      { chunkCount: 6, urgent: new Set([3]), originShare: i => i === 0, sources: [source('o', 'origin', 'all', 6), source('a', 'peer', [5], 2)] },
      [[3, 'o'], [0, 'o'], [5, 'a']]],
    ['a busy holder keeps the origin off its chunks',
      { chunkCount: 3, sources: [source('o', 'origin', 'all', 3), source('a', 'peer', [0, 1], 0)] },
      [[2, 'o']]],
    ['a download lets the origin take the chunks of a resting holder',
      { chunkCount: 3, sources: [source('o', 'origin', 'all', 3), { ...source('a', 'peer', [0, 1], 0), resting: true }] },
      // rarest first: chunk 2 (no holder), then 0 and 1
      [[2, 'o'], [0, 'o'], [1, 'o']]],
    ['a player waits for a resting holder (what is at risk goes to the origin anyway)',
      { chunkCount: 3, waitForResting: true, urgent: new Set([1]), sources: [source('o', 'origin', 'all', 3), { ...source('a', 'peer', [0, 1], 0), resting: true }] },
      [[1, 'o'], [2, 'o']]],
    ['spreadFrom past every unheld chunk wraps to the first',
      { chunkCount: 5, have: i => i >= 3, spreadFrom: 4, sources: [source('o', 'origin', 'all', 5)] },
      [[0, 'o'], [1, 'o'], [2, 'o']]],
    // alone with the origin (no share), HTTP is the node's fallback, not a channel beside it
    // (httpShare: the session's stand-in cases; () => false when HTTP does not stand in)
    ['alone: what the busy origin node will serve once a slot frees does not go to HTTP',
      { chunkCount: 4, httpShare: () => false, sources: [source('o', 'origin', 'all', 1), source('h', 'http', 'all', 4)] },
      [[0, 'o']]],
    ['alone: HTTP takes what the node cannot serve now (it rests after a stall, or it failed the chunk)',
      { chunkCount: 3, httpShare: () => false, sources: [{ ...source('o', 'origin', 'all', 0), resting: true }, source('h', 'http', 'all', 4)] },
      [[0, 'h'], [1, 'h'], [2, 'h']]],
    ['alone: HTTP takes a chunk the node failed, not the others',
      { chunkCount: 3, httpShare: () => false, sources: [source('o', 'origin', 'all', 0, [1]), source('h', 'http', 'all', 4)] },
      [[1, 'h']]],
    ['alone: a chunk a reader is blocked on (a seek) goes to HTTP when the node is busy',
      { chunkCount: 4, httpShare: () => false, blocked: new Set([3]), sources: [source('o', 'origin', 'all', 0), source('h', 'http', 'all', 4)] },
      [[3, 'h']]],
    ['alone: a chunk at risk goes to HTTP when the node is busy',
      { chunkCount: 3, httpShare: () => false, urgent: new Set([2]), sources: [source('o', 'origin', 'all', 0), source('h', 'http', 'all', 4)] },
      [[2, 'h']]],
    ['alone, HTTP standing in (no httpShare): it takes what the busy node cannot',
      { chunkCount: 3, sources: [source('o', 'origin', 'all', 1), source('h', 'http', 'all', 4)] },
      [[0, 'o'], [1, 'h'], [2, 'h']]]
  ]

  it.each(cases)('%s', (_, over, expected) => {
    expect(pick(input(over)).map(a => [a.index, a.source])).toEqual(expected)
  })

  it('peers of a crowd with their own spreadFrom ask the origin for different chunks', () => {
    // 30 peers arrive together: nobody holds anything yet, each may ask the origin for 4 chunks
    const firsts = Array.from({ length: 30 }, (_, k) => pick(input({
      chunkCount: 256, spreadFrom: Math.floor(k * 256 / 30), sources: [source('o', 'origin', 'all', 4)]
    })).map(a => a.index))
    expect(new Set(firsts.flat()).size).toBe(30 * 4)
  })

  it('never assigns more than a source has free, nor a chunk twice', () => {
    const sources = [source('a', 'peer', 'all', 3), source('b', 'peer', 'all', 2), source('h', 'http', 'all', 4)]
    const out = pick(input({ chunkCount: 100, criticalWindow: 5, urgent: new Set([1, 2, 3]), sources }))
    const per = new Map<string, number>()
    for (const a of out) per.set(a.source, (per.get(a.source) ?? 0) + 1)
    expect(per.get('a')).toBe(3)
    expect(per.get('b')).toBe(2)
    expect(new Set(out.map(a => a.index)).size).toBe(out.length)
  })
})
