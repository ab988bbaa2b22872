import { describe, expect, it } from 'vitest'
import type { Manifest } from '@core/content/manifest'
import { ManifestCache } from '../../../../web/peer/store/manifest-cache'

/** A manifest of `hashes` chunks: only the count matters to the cache. */
function manifestOf (hashes: number): Manifest {
  return { version: 1, name: 'v.mp4', size: hashes * 16384, mime: 'video/mp4', chunkSize: 16384, hashes: Array.from({ length: hashes }, () => '0'.repeat(64)) }
}

type Step = ['set', string, number] | ['get', string] | ['delete', string] | ['clear']

describe('ManifestCache', () => {
  const cases: Array<{ title: string, limits: { entries: number, hashes: number }, steps: Step[], keys: string[], hashes: number }> = [
    {
      title: 'drops the least recently put beyond the entry limit',
      limits: { entries: 2, hashes: 100 },
      steps: [['set', 'a', 1], ['set', 'b', 1], ['set', 'c', 1]],
      keys: ['b', 'c'],
      hashes: 2
    },
    {
      title: 'a get makes an entry the most recent',
      limits: { entries: 2, hashes: 100 },
      steps: [['set', 'a', 1], ['set', 'b', 1], ['get', 'a'], ['set', 'c', 1]],
      keys: ['a', 'c'],
      hashes: 2
    },
    {
      title: 'drops the least recent until the hashes fit',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'a', 4], ['set', 'b', 4], ['set', 'c', 4]],
      keys: ['b', 'c'],
      hashes: 8
    },
    {
      title: 'keeps the last one put, however big, alone',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'a', 4], ['set', 'big', 20]],
      keys: ['big'],
      hashes: 20
    },
    {
      title: 'a small one after a big one pushes the big one out',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'big', 20], ['set', 'a', 4]],
      keys: ['a'],
      hashes: 4
    },
    {
      title: 'putting an entry again counts it once',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'a', 4], ['set', 'b', 4], ['set', 'a', 4]],
      keys: ['b', 'a'],
      hashes: 8
    },
    {
      title: 'delete and clear give their hashes back',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'a', 4], ['set', 'b', 4], ['delete', 'a'], ['delete', 'unknown'], ['set', 'c', 6]],
      keys: ['b', 'c'],
      hashes: 10
    },
    {
      title: 'clear empties it',
      limits: { entries: 8, hashes: 10 },
      steps: [['set', 'a', 4], ['clear'], ['set', 'b', 10]],
      keys: ['b'],
      hashes: 10
    }
  ]
  for (const c of cases) {
    it(c.title, () => {
      const cache = new ManifestCache(c.limits)
      for (const step of c.steps) {
        if (step[0] === 'set') cache.set(step[1], manifestOf(step[2]))
        else if (step[0] === 'get') expect(cache.get(step[1])).toBeDefined()
        else if (step[0] === 'delete') cache.delete(step[1])
        else cache.clear()
      }
      expect(cache.keys()).toEqual(c.keys)
      expect(cache.hashCount).toBe(c.hashes)
    })
  }

  it('get returns what was put, and undefined for what was not or is gone', () => {
    const cache = new ManifestCache({ entries: 1, hashes: 100 })
    const a = manifestOf(3)
    cache.set('a', a)
    expect(cache.get('a')).toBe(a)
    cache.set('b', manifestOf(1))
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('never')).toBeUndefined()
  })
})
