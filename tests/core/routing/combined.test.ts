import { afterEach, describe, expect, it } from 'vitest'
import { trackerClient } from '@core/protocols/tracker'
import { chunkProtocol } from '@core/protocols/chunk'
import { MemoryChunkStore } from '@core/store/memory-store'
import { CombinedLocator } from '@core/routing/combined'
import type { ContentLocator, Provider } from '@core/routing/types'
import { makeContent } from '../../helpers/content'
import { createTestNode } from '../../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../../helpers/relay'

/**
 * A DHT whose lookups answer when the test says: the one part that is not
 * the real component here, since a lookup that hangs cannot be made on
 * demand. The tracker is a real relay's.
 */
function heldDht (): { dht: ContentLocator, lookups: number, answer(providers: Provider[]): void } {
  const waiting: Array<(p: Provider[]) => void> = []
  const state = {
    lookups: 0,
    dht: {
      announce: async () => {},
      withdraw: async () => {},
      findProviders: async () => {
        state.lookups++
        return await new Promise<Provider[]>(resolve => { waiting.push(resolve) })
      }
    } satisfies ContentLocator,
    answer (providers: Provider[]) { for (const w of waiting.splice(0)) w(providers) }
  }
  return state
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

async function setup (): Promise<{ relay: TestRelay, contentId: string, tracker: ContentLocator }> {
  const content = await makeContent(400_000, { seed: 61, name: 'held.mp4' })
  const relay = await startRelay([{ name: 'held.mp4', bytes: content.bytes }])
  cleanup.push(async () => { await relay.close() })
  const node = await createTestNode({ tracker: trackerClient({ tracker: tcpAddr(relay) }) })
  cleanup.push(async () => { await node.stop() })
  return { relay, contentId: content.contentId, tracker: node.services.tracker }
}

describe('CombinedLocator: the tracker and the DHT together', () => {
  it('answers with the tracker\'s holders while the DHT lookup is still under way; its result joins the next find', async () => {
    const { relay, contentId, tracker } = await setup()
    const held = heldDht()
    const locator = new CombinedLocator({ tracker, dht: held.dht })
    // the DHT has not answered, and will not before this find returns
    const first = await locator.findSwarm(contentId)
    expect(first.providers.map(p => p.id.toString())).toEqual([relay.relay.node.peerId.toString()])
    expect(held.lookups).toBe(1)
    // the lookup answers: a holder the tracker does not know
    const other = await createTestNode()
    cleanup.push(async () => { await other.stop() })
    held.answer([{ id: other.peerId, multiaddrs: other.getMultiaddrs(), complete: false, origin: false }])
    await new Promise(resolve => setImmediate(resolve))
    // within the lookup interval: no new lookup, the last one's holders
    const next = locator.findSwarm(contentId)
    expect((await next).providers.map(p => p.id.toString())).toEqual([relay.relay.node.peerId.toString(), other.peerId.toString()])
    expect(held.lookups).toBe(1)
  })

  it('waits for the DHT when the tracker knows no holder', async () => {
    const { tracker } = await setup()
    const held = heldDht()
    const locator = new CombinedLocator({ tracker, dht: held.dht })
    const unknown = (await makeContent(1000, { seed: 62 })).contentId
    let answered = false
    const find = locator.findSwarm(unknown).then(view => { answered = true; return view })
    // the tracker has answered (nobody): the find is waiting on the lookup
    while (held.lookups === 0) await new Promise(resolve => setImmediate(resolve))
    // the tracker's answer (nobody) comes in well within this; the find still waits
    await tracker.findProviders(unknown)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(answered).toBe(false)
    const holder = await createTestNode()
    cleanup.push(async () => { await holder.stop() })
    held.answer([{ id: holder.peerId, multiaddrs: holder.getMultiaddrs(), complete: true, origin: false }])
    expect((await find).providers.map(p => p.id.toString())).toEqual([holder.peerId.toString()])
  })

  it('takes a provider a catalogue named as the content\'s relay for its origin, even when told after the lookup', async () => {
    const { contentId, tracker } = await setup()
    const held = heldDht()
    const locator = new CombinedLocator({ tracker, dht: held.dht })
    const other = await createTestNode()
    cleanup.push(async () => { await other.stop() })
    await locator.findSwarm(contentId)
    held.answer([{ id: other.peerId, multiaddrs: other.getMultiaddrs(), complete: true, origin: false }])
    await new Promise(resolve => setImmediate(resolve))
    const origin = async (): Promise<boolean | undefined> => (await locator.findSwarm(contentId)).providers.find(p => p.id.equals(other.peerId))?.origin
    expect(await origin()).toBe(false)
    // the hint comes after the lookup's answer (a tab that reads /manifest late): the next find applies it
    locator.originOf(contentId, other.peerId.toString())
    expect(await origin()).toBe(true)
    expect(held.lookups).toBe(1)
  })

  it('tells an origin relay again what it holds once that relay has forgotten it (a lost connection drops a peer\'s announcements)', async () => {
    // relay A seeds the content; this node is attached to relay B, which does not have it
    const content = await makeContent(400_000, { seed: 63, name: 'seeded.mp4' })
    const a = await startRelay([{ name: 'seeded.mp4', bytes: content.bytes }])
    cleanup.push(async () => { await a.close() })
    const b = await startRelay([])
    cleanup.push(async () => { await b.close() })
    // with the chunk protocol: relay A asks an announcer what it holds, and one that cannot say is not listed
    const store = new MemoryChunkStore()
    await store.putManifest(content.manifest)
    const node = await createTestNode({ tracker: trackerClient({ tracker: tcpAddr(b) }), chunk: chunkProtocol({ store }) })
    cleanup.push(async () => { await node.stop() })
    const held = heldDht()
    const self = node.peerId.toString()
    const locator = new CombinedLocator({ tracker: node.services.tracker, dht: held.dht, trackerAt: addrs => node.services.tracker.at(addrs), selfId: self, originRetellMs: 0 })
    const registry = a.relay.registry
    const listed = async (): Promise<void> => await new Promise<void>(resolve => {
      if (registry.holds(content.contentId, self)) { resolve(); return }
      const off = registry.onChange(() => { if (registry.holds(content.contentId, self)) { off(); resolve() } })
    })
    await locator.announce([{ contentId: content.contentId, complete: false }])
    // the DHT names A as the origin: A's tracker is asked, and told
    const find = locator.findSwarm(content.contentId)
    held.answer([{ id: a.relay.node.peerId, multiaddrs: [tcpAddr(a)], complete: true, origin: true }])
    await find
    await listed()
    // A forgets it, as when its last connection to this node closed
    registry.removePeer(self)
    expect(registry.holds(content.contentId, self)).toBe(false)
    const next = await locator.findSwarm(content.contentId)
    expect(next.providers.some(p => p.id.equals(a.relay.node.peerId) && p.origin)).toBe(true)
    await listed()
  })
})
