import { afterEach, describe, expect, it } from 'vitest'
import { lpStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { TrackerRegistry, trackerClient, trackerServer, PROTOCOL, type TrackerClient } from '@core/protocols/tracker'
import { createTestNode } from '../../../helpers/nodes'
import { announceRaw } from '../../../helpers/rogue'

const A = 'a'.repeat(64)

describe('/pipbingo/tracker/1.0.0 between real libp2p nodes', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

  async function setup (): Promise<{ registry: TrackerRegistry, relay: Libp2p, client: () => Promise<Libp2p<{ tracker: TrackerClient }>> }> {
    const registry = new TrackerRegistry()
    const relay = await createTestNode({ tracker: trackerServer({ registry }) })
    nodes.push(relay)
    const relayAddr = relay.getMultiaddrs()[0]!
    return {
      registry,
      relay,
      client: async () => {
        const n = await createTestNode({ tracker: trackerClient({ tracker: relayAddr }) }) as unknown as Libp2p<{ tracker: TrackerClient }>
        nodes.push(n)
        return n
      }
    }
  }

  it('tells one peer who else holds a content, with dialable addresses', async () => {
    const { client } = await setup()
    const alice = await client()
    const bob = await client()
    await alice.services.tracker.announce([{ contentId: A, complete: true }])
    const providers = await bob.services.tracker.findProviders(A)
    expect(providers.map(p => p.id.toString())).toEqual([alice.peerId.toString()])
    expect(providers[0]!.complete).toBe(true)
    // the addresses work: bob dials alice with them
    const conn = await bob.dial(providers[0]!.multiaddrs)
    expect(conn.remotePeer.equals(alice.peerId)).toBe(true)
    // nobody is told about themselves
    expect(await alice.services.tracker.findProviders(A)).toEqual([])
  })

  it('gives a peer\'s addresses as identify told them, on the host it connects from: never those of its announcement, never another host', async () => {
    const { registry, relay } = await setup()
    const relayAddr = relay.getMultiaddrs()[0]!
    // it says (identify) it is at a port of its own host and at another host's; its announcement names a third place
    const liar = await createTestNode({}, { announce: ['/ip4/127.0.0.1/tcp/9', '/ip4/10.9.9.9/tcp/4001'] })
    nodes.push(liar)
    expect(await announceRaw(liar, relayAddr, { type: 'announce', entries: [{ contentId: A, complete: true }], addrs: ['/ip4/192.0.2.7/tcp/80'] })).toMatchObject({ ok: true })
    const asker = await createTestNode({ tracker: trackerClient({ tracker: relayAddr }) }) as unknown as Libp2p<{ tracker: TrackerClient }>
    nodes.push(asker)
    const [found] = await asker.services.tracker.findProviders(A)
    expect(found?.id.toString()).toBe(liar.peerId.toString())
    expect(found!.multiaddrs.map(String)).toEqual([`/ip4/127.0.0.1/tcp/9/p2p/${liar.peerId.toString()}`])
    // the claim is listed until the relay's owner checks it (the relay asks over the chunk protocol: relay/holders.ts)
    registry.check(liar.peerId.toString(), A, 'failed')
    expect(await asker.services.tracker.findProviders(A)).toEqual([])
  })

  it('tells a downloader every member of the swarm when asked, beyond the providers to dial', async () => {
    const { client, registry } = await setup()
    const alice = await client()
    const bob = await client()
    // more downloaders than a find's providers: the members list has them all
    for (let k = 0; k < 40; k++) registry.announce(`12D3KooWfake${String(k).padStart(3, '0')}`, [], [{ contentId: A, complete: false }])
    await alice.services.tracker.announce([{ contentId: A, complete: false }])
    const view = await bob.services.tracker.findSwarm(A)
    expect(view.providers.length).toBeLessThanOrEqual(30)
    expect(view.downloaders).toBe(41)
    expect(view.members).toHaveLength(41)
    expect(view.members).toContain(alice.peerId.toString())
    expect(view.members).toEqual([...view.members!].sort())
    // a plain find (an older client) gets no members
    expect(await bob.services.tracker.findProviders(A)).toEqual(view.providers)
  })

  it('drops what a peer announced when it disconnects', async () => {
    const { client, registry, relay } = await setup()
    const alice = await client()
    await alice.services.tracker.announce([{ contentId: A, complete: false }])
    expect(registry.size()).toBe(1)
    const gone = new Promise<void>(resolve => relay.addEventListener('peer:disconnect', () => resolve(), { once: true }))
    await alice.stop()
    await gone
    expect(registry.find(A)).toEqual([])
  })

  it('answers a malformed request with an error, and keeps serving', async () => {
    const { client, relay } = await setup()
    const probe = await client()
    const stream = await probe.dialProtocol(relay.getMultiaddrs(), PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(new TextEncoder().encode('{"type":"announce","entries":"lots"}'))
    const answer = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()))
    expect(answer.ok).toBe(false)
    expect(answer.error).toMatch(/entries/)

    await probe.services.tracker.announce([{ contentId: A, complete: true }])
    const other = await client()
    expect(await other.services.tracker.findProviders(A)).toHaveLength(1)
  })

  it('rejects a content id that is not one', async () => {
    const { client } = await setup()
    const alice = await client()
    await expect(alice.services.tracker.findProviders('../etc/passwd')).rejects.toMatchObject({ name: 'TrackerRequestError' })
  })
})
