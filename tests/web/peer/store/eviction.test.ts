import { describe, expect, it } from 'vitest'
import { planEviction, totalBytes, type LruEntry } from '../../../../web/peer/store/eviction'

const entries: LruEntry[] = [
  { contentId: 'c', lastUsed: 30, bytes: 300 },
  { contentId: 'a', lastUsed: 10, bytes: 100 },
  { contentId: 'empty', lastUsed: 5, bytes: 0 },
  { contentId: 'b', lastUsed: 20, bytes: 200 }
]

describe('planEviction', () => {
  const cases: Array<{ title: string, need: number, refuse?: string[], victims: string[], freed: number }> = [
    { title: 'nothing when nothing is needed', need: 0, victims: [], freed: 0 },
    { title: 'the oldest content that holds bytes', need: 1, victims: ['a'], freed: 100 },
    { title: 'exactly enough', need: 100, victims: ['a'], freed: 100 },
    { title: 'oldest first until enough', need: 101, victims: ['a', 'b'], freed: 300 },
    { title: 'skips the refused', need: 150, refuse: ['a'], victims: ['b'], freed: 200 },
    { title: 'everything it may, when that is not enough', need: 1000, refuse: ['b'], victims: ['a', 'c'], freed: 400 },
    { title: 'nothing when everything is refused', need: 10, refuse: ['a', 'b', 'c'], victims: [], freed: 0 }
  ]
  for (const c of cases) {
    it(c.title, async () => {
      const asked: string[] = []
      const plan = await planEviction(entries, c.need, async entry => {
        asked.push(entry.contentId)
        return !(c.refuse ?? []).includes(entry.contentId)
      })
      expect(plan.victims.map(v => v.contentId)).toEqual(c.victims)
      expect(plan.freed).toBe(c.freed)
      expect(asked).not.toContain('empty')
    })
  }

  it('totalBytes sums', () => {
    expect(totalBytes(entries)).toBe(600)
    expect(totalBytes([])).toBe(0)
  })
})
