import { createServer, type Server } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Libp2p } from 'libp2p'
import type { ListEntry } from '../../relay/catalogue'
import { chunkProtocol, type ChunkProtocol } from '@core/protocols/chunk'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import { MemoryChunkStore } from '@core/store/memory-store'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { announceRaw } from '../helpers/rogue'
import { fill, startPeer, type Peer } from '../helpers/swarm'
import { openEvents, type SseClient } from './sse-client'

const NAME = 'video_1700000016000.mp4'
const LIARS = 20
/**
 * What a download may cost the victim (web/core/protocols/chunk/dial-backoff.ts):
 * one dial of its address at a time, whichever identity names it, then 2,
 * 4, 8, 10 s of rest after each failure — attempts at about 0, 2, 6, 14 s,
 * so 4 at most for a download of under 24 s (this one takes a few seconds).
 */
const MAX_VICTIM_CONNECTIONS = 4

/** A TCP listener on loopback standing for someone else's machine: it counts the connections it gets and drops each at once. */
async function startVictim (): Promise<{ addr: string, accepted: () => number, close(): Promise<void> }> {
  let accepted = 0
  const server: Server = createServer(socket => { accepted++; socket.destroy() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    addr: `/ip4/127.0.0.1/tcp/${port}`,
    accepted: () => accepted,
    close: async () => { await new Promise<void>(resolve => server.close(() => { resolve() })) }
  }
}

/**
 * Issue 16, "a tracker that cannot be used as a weapon": peers announce a
 * real content of a real relay while pointing at a victim's address, and a
 * real bridge downloads it. Loopback TCP throughout: the victim is a plain
 * TCP listener this test owns.
 */
describe('a tracker that cannot be used as a weapon', () => {
  let content: TestContent
  let relay: TestRelay | undefined
  let victim: Awaited<ReturnType<typeof startVictim>> | undefined
  const nodes: Libp2p[] = []
  const peers: Peer[] = []
  const bridges: TestBridge[] = []
  const clients: SseClient[] = []

  beforeAll(async () => { content = await makeContent(8 * 1024 * 1024, { seed: 1616, name: NAME }) })
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    for (const b of bridges.splice(0)) await b.close()
    for (const p of peers.splice(0)) { p.announcer.stop(); await p.node.stop() }
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    await relay?.close()
    await victim?.close()
  })

  async function counts (r: TestRelay): Promise<Pick<ListEntry, 'peers' | 'seeders'>> {
    const list = await (await fetch(`${r.relay.httpUrl()}/list`)).json() as ListEntry[]
    const e = list.find(x => x.contentId === content.contentId)!
    return { peers: e.peers, seeders: e.seeders }
  }

  it(`${LIARS} peers announce it as seeders with the victim's address in the announcement: /list counts only the real holder, and a bridge's download never touches the victim`, async () => {
    // every peer here comes from 127.0.0.1: one host stands for many (as behind a reverse proxy)
    const r = relay = await startRelay([{ name: NAME, bytes: content.bytes }], { inboundPerHost: 10_000 })
    victim = await startVictim()
    const live = await openEvents(`${r.relay.httpUrl()}/events`)
    clients.push(live)
    await live.until('catalogue')

    // the liars: the project's own stack, no chunk protocol, an announcement naming the victim
    for (let k = 0; k < LIARS; k++) {
      const liar = await createTestNode()
      nodes.push(liar)
      expect(await announceRaw(liar, tcpAddr(r), { type: 'announce', entries: [{ contentId: content.contentId, complete: true }], addrs: [victim.addr] })).toMatchObject({ ok: true })
    }
    // one real holder, announced after them
    const store = new MemoryChunkStore()
    await fill(store, content)
    const honest = await startPeer(tcpAddr(r), { store })
    peers.push(honest)
    honest.announcer.set(content.contentId, true)
    await live.until<ListEntry[]>('catalogue', list => list.some(e => e.contentId === content.contentId && e.seeders > 0))
    expect(await counts(r)).toEqual({ peers: 1, seeders: 1 })

    // a real bridge downloads it: from the honest peer and the origin, not from the victim
    const bridge = await startBridge(r)
    bridges.push(bridge)
    expect((await postDownload(bridge.url, NAME)).body.status).toBe('started')
    await bridge.waitFor(NAME, 'seeding')
    const status = (await (await bridge.api('/status')).json())[NAME]
    expect(status.bytes_from_peers + status.bytes_from_origin).toBe(content.manifest.size)
    expect(victim.accepted()).toBe(0)
    // and the liars are still not counted: the bridge is the second seeder
    await live.until<ListEntry[]>('catalogue', list => list.some(e => e.contentId === content.contentId && e.seeders === 2))
    expect(await counts(r)).toEqual({ peers: 2, seeders: 2 })
  }, 120_000)

  it(`${LIARS} holders whose identify gives only the victim's address: a bridge's download dials the victim at most ${MAX_VICTIM_CONNECTIONS} times`, async () => {
    const r = relay = await startRelay([{ name: NAME, bytes: content.bytes }], { inboundPerHost: 10_000 })
    victim = await startVictim()
    // they hold the content (one store between them) and serve it, but tell everyone (identify) they are at the victim's address
    const store = new MemoryChunkStore()
    await fill(store, content)
    for (let k = 0; k < LIARS; k++) {
      const liar = await createTestNode({
        chunk: chunkProtocol({ store }),
        tracker: trackerClient({ tracker: tcpAddr(r) })
      }, { announce: [victim.addr] }) as unknown as Libp2p<{ chunk: ChunkProtocol, tracker: TrackerClient }>
      nodes.push(liar)
      await liar.services.tracker.announce([{ contentId: content.contentId, complete: true }])
    }
    const bridge = await startBridge(r)
    bridges.push(bridge)
    expect((await postDownload(bridge.url, NAME)).body.status).toBe('started')
    await bridge.waitFor(NAME, 'seeding')
    const bytes = new Uint8Array(await (await bridge.api(`/stream/${NAME}`)).arrayBuffer())
    expect(digest(bytes)).toBe(digest(content.bytes))
    expect(victim.accepted()).toBeLessThanOrEqual(MAX_VICTIM_CONNECTIONS)
  }, 120_000)
})
