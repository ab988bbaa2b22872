import type { Relay } from '../../../relay/relay'

/**
 * Wait until the relay's tracker lists no holder of `contentId` other than
 * the origin itself and `allowed` (peer ids). A closed tab leaves the tracker
 * when its connection to the relay goes; waiting for that keeps a measurement
 * from finding (and dialling) a tab of the one before.
 */
export async function waitForHolders (relay: Relay, contentId: string, allowed: readonly string[], timeoutMs = 10_000): Promise<void> {
  const relayId = relay.node.peerId.toString()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const others = relay.registry.find(contentId, { limit: 1000 }).filter(p => p.peer !== relayId && !allowed.includes(p.peer))
    if (others.length === 0) return
    if (Date.now() > deadline) throw new Error(`the tracker still lists ${others.map(p => p.peer).join(', ')} as holders ${timeoutMs / 1000} s after their tabs closed`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Wait until the relay's tracker lists `peer` as a complete holder of `contentId` (its announcement arrived). */
export async function waitForSeeder (relay: Relay, contentId: string, peer: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (relay.registry.find(contentId, { limit: 1000 }).some(p => p.peer === peer && p.complete)) return
    if (Date.now() > deadline) throw new Error(`the tracker does not list ${peer} as a seeder of ${contentId} after ${timeoutMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
