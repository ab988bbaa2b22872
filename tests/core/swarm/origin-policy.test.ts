import { describe, expect, it } from 'vitest'
import { atRiskChunks, originPolicy, type AtRiskInput, type OriginDecision, type OriginPolicyInput } from '@core/swarm/origin-policy'

function state (over: Partial<OriginPolicyInput>): OriginPolicyInput {
  return { now: 10_000, startedAt: 10_000, discovered: true, connected: 0, pending: 0, pendingSeeders: 0, members: 0, player: true, startBudgetMs: 2000, ...over }
}

describe('originPolicy', () => {
  const cases: Array<[string, Partial<OriginPolicyInput>, OriginDecision]> = [
    ['before the locator answers, nothing goes to the origin',
      { discovered: false }, { atRisk: false, unheld: false, share: false, reason: 'finding' }],
    ['a locator that is slow past the start budget: a player gets what it is blocked on',
      { discovered: false, now: 12_000 }, { atRisk: true, unheld: false, share: false, reason: 'finding' }],
    ['the same for a download: still nothing',
      { discovered: false, now: 12_000, player: false }, { atRisk: false, unheld: false, share: false, reason: 'finding' }],
    ['nobody else holds it: the origin serves everything',
      {}, { atRisk: true, unheld: true, share: false, reason: 'no-holder' }],
    ['nobody else holds it, a download: the origin serves everything',
      { player: false }, { atRisk: false, unheld: true, share: false, reason: 'no-holder' }],
    ['a seeder is being connected, within the start budget: wait for it',
      { pending: 1, pendingSeeders: 1, now: 11_999 }, { atRisk: false, unheld: false, share: false, reason: 'connecting' }],
    ['a seeder is being connected, past the start budget: only what is at risk',
      { pending: 1, pendingSeeders: 1, now: 12_000 }, { atRisk: true, unheld: false, share: false, reason: 'connecting' }],
    ['a download never takes chunks at risk from the origin while a seeder is connected',
      { pending: 1, pendingSeeders: 1, now: 60_000, player: false }, { atRisk: false, unheld: false, share: false, reason: 'connecting' }],
    ['connected, nobody pending: at risk, and its share of what no connected peer holds',
      { connected: 2 }, { atRisk: true, unheld: true, share: true, reason: 'peers' }],
    ['connected and a seeder pending: it holds what the others lack, so wait for it',
      { connected: 1, pending: 1, pendingSeeders: 1 }, { atRisk: true, unheld: false, share: false, reason: 'peers' }],
    ['connected and other downloaders pending: its share, as they take theirs',
      { connected: 1, pending: 2 }, { atRisk: true, unheld: true, share: true, reason: 'peers' }],
    ['other downloaders listed but none reached (every dial failed for now): its share, as they take theirs',
      { members: 5 }, { atRisk: true, unheld: true, share: true, reason: 'connecting' }],
    ['a crowd arriving (downloaders being connected, none yet): its share from the start, nothing at risk within the budget',
      { pending: 3, now: 11_000 }, { atRisk: false, unheld: true, share: true, reason: 'connecting' }],
    ['the same past the start budget: what is at risk too',
      { pending: 3, now: 12_000 }, { atRisk: true, unheld: true, share: true, reason: 'connecting' }]
  ]
  for (const [name, over, expected] of cases) {
    it(name, () => { expect(originPolicy(state(over))).toEqual(expected) })
  }
})

describe('atRiskChunks', () => {
  function risk (over: Partial<AtRiskInput>): number[] {
    return [...atRiskChunks({ chunkCount: 20, have: () => false, blocked: [], riskChunks: 3, ...over })].sort((a, b) => a - b)
  }
  const cases: Array<[string, Partial<AtRiskInput>, number[]]> = [
    ['before playback: exactly what the player is blocked on', { blocked: [0, 19] }, [0, 19]],
    ['before playback: a blocked chunk already held is not at risk', { blocked: [0, 1], have: i => i === 0 }, [1]],
    ['playing: the missing chunks within the risk window ahead of the playhead', { playhead: 5 }, [5, 6, 7]],
    ['playing with a healthy buffer: nothing', { playhead: 5, have: i => i >= 5 && i < 8 }, []],
    ['playing: a read the browser makes far ahead is not at risk', { playhead: 5, blocked: [15], have: i => i >= 5 && i < 8 }, []],
    ['playing: a read a little behind the estimated playhead is', { playhead: 5, blocked: [4], have: i => i >= 5 && i < 8 }, [4]],
    ['the window stops at the last chunk', { playhead: 19 }, [19]]
  ]
  for (const [name, over, expected] of cases) {
    it(name, () => { expect(risk(over)).toEqual(expected) })
  }
})
