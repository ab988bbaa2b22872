import { afterEach, describe, expect, it } from 'vitest'
import { defaultLogger } from '@libp2p/logger'
import { ping } from '@libp2p/ping'
import { contentIdOf } from '@core/content/manifest'
import { chunkProtocol } from '@core/protocols/chunk'
import { trackerClient } from '@core/protocols/tracker'
import { MemoryChunkStore } from '@core/store/memory-store'
import { CombinedLocator } from '@core/routing/combined'
import { contentDht, DhtLocator } from '@core/routing/dht'
import type { Provider } from '@core/routing/types'
import { makeContent, type TestContent } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { fill } from '../helpers/swarm'

/** Three relays joined into one DHT (each dials the ones before it), with what each relay seeds. */
async function threeRelays (options: { ttlMs?: number } = {}): Promise<{ relays: [TestRelay, TestRelay, TestRelay], contentIds: [string, string, string], contents: TestContent[] }> {
  const relays: TestRelay[] = []
  const contentIds: string[] = []
  const contents: TestContent[] = []
  for (const [i, name] of ['a.mp4', 'b.mp4', 'c.mp4'].entries()) {
    const content = await makeContent(300_000 + i, { seed: 40 + i, name })
    const r = await startRelay([{ name, bytes: content.bytes }], {}, { dhtProviderTtlMs: options.ttlMs })
    cleanup.push(async () => { await r.close() })
    for (const earlier of relays) await r.relay.node.dial(tcpAddr(earlier), { signal: AbortSignal.timeout(10_000) })
    relays.push(r)
    contentIds.push(await contentIdOf(content.manifest))
    contents.push(content)
  }
  return { relays: relays as [TestRelay, TestRelay, TestRelay], contentIds: contentIds as [string, string, string], contents }
}

function locatorOf (r: TestRelay): DhtLocator {
  const node = r.relay.node
  return new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: defaultLogger().forComponent('test:dht') })
}

/** Asks until `done` holds for the answer, within `timeoutMs`: provider records spread and expire in the background. */
async function findUntil (locator: DhtLocator, contentId: string, done: (providers: Provider[]) => boolean, timeoutMs = 30_000): Promise<Provider[]> {
  const deadline = Date.now() + timeoutMs
  let last: Provider[] = []
  while (Date.now() < deadline) {
    last = await locator.findProviders(contentId, { signal: AbortSignal.timeout(10_000) })
    if (done(last)) return last
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`no answer matched in ${timeoutMs} ms; the last was [${last.map(p => p.id.toString()).join(', ')}]`)
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

describe('the relays\' DHT (/pipbingo/kad/1.0.0)', () => {
  it('finds, from every relay, the relay whose library holds a video, as an origin with addresses to dial', async () => {
    const { relays, contentIds } = await threeRelays()
    for (const [i, seeder] of relays.entries()) {
      for (const asker of relays.filter(r => r !== seeder)) {
        const providers = await findUntil(locatorOf(asker), contentIds[i]!, ps => ps.some(p => p.id.equals(seeder.relay.node.peerId)))
        const found = providers.find(p => p.id.equals(seeder.relay.node.peerId))!
        expect(found.origin).toBe(true)
        expect(found.multiaddrs.map(String)).toContain(tcpAddr(seeder).toString())
      }
    }
    // each relay has the two others in its routing table
    for (const r of relays) expect(await r.metric('pipbingo_dht_peers')).toBe(2)
  })

  it('answers a client that knows only its own relay, and keeps a client\'s provider record for others', async () => {
    const { relays, contentIds } = await threeRelays()
    const [a, b, c] = relays
    const client = await createTestNode({ ping: ping(), dht: contentDht({ server: false }) })
    cleanup.push(async () => { await client.stop() })
    await client.dial(tcpAddr(b), { signal: AbortSignal.timeout(10_000) })
    const locator = new DhtLocator({ dht: client.services.dht, peerId: client.peerId, peerStore: client.peerStore, addresses: () => client.getMultiaddrs(), log: defaultLogger().forComponent('test:dht') })
    // relay A's video, through relay B
    const providers = await findUntil(locator, contentIds[0], ps => ps.some(p => p.id.equals(a.relay.node.peerId)))
    expect(providers.every(p => !p.id.equals(client.peerId))).toBe(true)
    // the client says it holds C's video: relay A learns it through the DHT
    await locator.announce([{ contentId: contentIds[2], complete: false }])
    const seen = await findUntil(locatorOf(a), contentIds[2], ps => ps.some(p => p.id.equals(client.peerId)))
    const theClient = seen.find(p => p.id.equals(client.peerId))!
    expect(theClient.origin).toBe(false)
    expect(theClient.complete).toBe(false)
    expect(theClient.multiaddrs.length).toBeGreaterThan(0)
    expect(seen.some(p => p.id.equals(c.relay.node.peerId))).toBe(true)
  })

  it('forgets a relay that left once its records expire, and the others keep answering', async () => {
    const { relays, contentIds } = await threeRelays({ ttlMs: 3_000 })
    const [a, b, c] = relays
    await findUntil(locatorOf(c), contentIds[0], ps => ps.some(p => p.id.equals(a.relay.node.peerId)))
    await a.close()
    cleanup.splice(0, 1)
    // A's video: its records on B and C expire; no lookup hangs meanwhile (each is bounded: findUntil's 10 s)
    const after = await findUntil(locatorOf(c), contentIds[0], ps => ps.length === 0)
    expect(after).toEqual([])
    // B's video is still found from C, with B renewing its records
    const providers = await findUntil(locatorOf(c), contentIds[1], ps => ps.some(p => p.id.equals(b.relay.node.peerId)))
    expect(providers.find(p => p.id.equals(b.relay.node.peerId))?.origin).toBe(true)
  })

  it('joins the swarm of a content across relays: its origin relay\'s tracker is asked and told, so downloaders on two relays know each other', async () => {
    const { relays, contentIds, contents } = await threeRelays()
    const [a, b] = relays
    const contentId = contentIds[0]
    /** A downloader as a bridge is: attached to `relay`, asking its tracker and the DHT. */
    const downloader = async (relay: TestRelay): Promise<{ id: string, locator: CombinedLocator }> => {
      // the manifest and no chunk yet, as a download starts: a relay asks whoever announces what it holds (relay/holders.ts)
      const store = new MemoryChunkStore()
      await fill(store, contents[0]!, [])
      const node = await createTestNode({ ping: ping(), dht: contentDht({ server: true }), tracker: trackerClient({ tracker: tcpAddr(relay) }), chunk: chunkProtocol({ store }) })
      cleanup.push(async () => { await node.stop() })
      await node.dial(tcpAddr(relay), { signal: AbortSignal.timeout(10_000) })
      const log = defaultLogger().forComponent('test:combined')
      const locator = new CombinedLocator({
        tracker: node.services.tracker,
        dht: new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log }),
        trackerAt: addrs => node.services.tracker.at(addrs)
      })
      return { id: node.peerId.toString(), locator }
    }
    const onA = await downloader(a)
    const onB = await downloader(b)
    // each starts as a session does: says it downloads (holds nothing yet), then asks who holds it
    await onA.locator.announce([{ contentId, complete: false }])
    await onB.locator.announce([{ contentId, complete: false }])
    const deadline = Date.now() + 30_000
    let swarm = await onB.locator.findSwarm(contentId)
    // the DHT names relay A (the origin); its tracker is then told of onB and asked: onA is a member
    while (!(swarm.members ?? []).includes(onA.id) && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 200))
      swarm = await onB.locator.findSwarm(contentId)
    }
    expect(swarm.members).toEqual([onA.id, onB.id].sort())
    const origin = swarm.providers.find(p => p.id.equals(a.relay.node.peerId))
    expect(origin?.origin).toBe(true)
    // relay A's tracker knows onB, a downloader attached to relay B
    expect(a.relay.registry.holds(contentId, onB.id)).toBe(true)
    const fromA = await onA.locator.findSwarm(contentId)
    expect(fromA.members).toEqual([onA.id, onB.id].sort())
  })

  it('keeps a bounded number of provider records per peer: a peer that provides everything fills its own share, and others are still kept', async () => {
    const relay = await startRelay([], {}, { dhtRecordLimits: { total: 1000, perPeer: 20 } })
    cleanup.push(async () => { await relay.close() })
    const client = async (): Promise<{ id: string, locator: DhtLocator }> => {
      const node = await createTestNode({ ping: ping(), dht: contentDht({ server: false }) })
      cleanup.push(async () => { await node.stop() })
      await node.dial(tcpAddr(relay), { signal: AbortSignal.timeout(10_000) })
      return { id: node.peerId.toString(), locator: new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: defaultLogger().forComponent('test:dht') }) }
    }
    const [flooder, honest, observer] = [await client(), await client(), await client()]
    const randomIds = Array.from({ length: 30 }, () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'))
    await flooder.locator.announce(randomIds.map(contentId => ({ contentId, complete: true })))
    const ownId = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    await honest.locator.announce([{ contentId: ownId, complete: true }])
    // what the relay kept, as anyone finds it: 20 of the flooder's 30, and the honest peer's one
    let kept = 0
    for (const id of randomIds) {
      if ((await observer.locator.findProviders(id)).some(p => p.id.toString() === flooder.id)) kept++
    }
    expect(kept).toBe(20)
    expect((await observer.locator.findProviders(ownId)).map(p => p.id.toString())).toEqual([honest.id])
    expect(await relay.metric('pipbingo_dht_provider_records')).toBe(21)
    expect((await fetch(`${relay.relay.httpUrl()}/health`)).status).toBe(200)
  })
})
