import { describe, expect, it } from 'vitest'
import { lowShareText } from '../../../web/app/views/watch/why'
import type { LowShareReason } from '../../../web/peer/tab-stats'

describe('the overlay says why the share from peers is low', () => {
  const cases: Array<[LowShareReason, RegExp]> = [
    ['p2p-off', /Peer-to-peer is off/],
    ['finding', /Looking for peers/],
    ['no-holder', /Nobody else is sharing this video/],
    ['connecting', /Connecting directly/],
    ['relayed', /Only a relayed path .* failed, retrying/],
    ['busy', /busy: the server fills in/]
  ]
  for (const [why, words] of cases) {
    it(why, () => { expect(lowShareText(why)).toMatch(words) })
  }
})
