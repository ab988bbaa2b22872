import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeContent, digest, type TestContent } from '../helpers/content'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { LyingStore } from '../helpers/stores'
import { fill, readAll, startPeer, type Peer } from '../helpers/swarm'

describe('Node peers and a real relay on loopback', () => {
  let content: TestContent
  let relay: TestRelay
  const peers: Peer[] = []
  beforeAll(async () => { content = await makeContent(40 * 256 * 1024 + 777, { seed: 3, name: 'video_1234567890.mp4' }) })
  afterEach(async () => {
    for (const p of peers.splice(0)) { p.announcer.stop(); await p.node.stop() }
    await relay?.close()
  })

  async function peer (options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
    const p = await startPeer(tcpAddr(relay), { httpBase: relay.relay.httpUrl(), ...options })
    peers.push(p)
    return p
  }

  it('the library is manifested with the same content id as the source, and listed', async () => {
    relay = await startRelay([{ name: content.manifest.name, bytes: content.bytes }])
    const list = await (await fetch(`${relay.relay.httpUrl()}/list`)).json() as Array<{ filename: string, contentId: string }>
    expect(list.map(e => [e.filename, e.contentId])).toEqual([[content.manifest.name, content.contentId]])
  })

  it('peer 1 fetches from the origin, peer 2 from peer 1 and the origin; the relay counts what it served', async () => {
    relay = await startRelay([{ name: content.manifest.name, bytes: content.bytes }])
    const p1 = await peer()
    const s1 = p1.session(content)
    await s1.start()
    await s1.done
    expect(digest(await readAll(p1.store, content))).toBe(digest(content.bytes))
    // the origin served the file exactly once, over libp2p and HTTP together
    const originServed = async (): Promise<number> => await relay.metric('pipbingo_libp2p_bytes_served_total') + await relay.metric('pipbingo_http_bytes_served_total')
    expect(await originServed()).toBe(content.manifest.size)
    expect(s1.stats.bytesFromPeers + s1.stats.bytesFromHttp).toBe(content.manifest.size)
    await p1.announcer.settled()

    const p2 = await peer()
    const s2 = p2.session(content)
    await s2.start()
    await s2.done
    expect(digest(await readAll(p2.store, content))).toBe(digest(content.bytes))
    const fromP1 = s2.stats.snapshot().bySource[p1.node.peerId.toString()] ?? 0
    expect(fromP1).toBeGreaterThan(0.8 * content.manifest.size)
    // everything p2 did not get from p1 came from the relay, and nothing was counted twice
    expect(await originServed()).toBe(2 * content.manifest.size - fromP1)
    expect(await relay.metric('pipbingo_tracker_entries')).toBeGreaterThanOrEqual(3)
  })

  it('falls back to HTTP when no peer can give the content', async () => {
    relay = await startRelay([{ name: content.manifest.name, bytes: content.bytes }])
    const p = await peer()
    // no chunk protocol, no tracker: the session has only the origin's HTTP side
    const session = p.session(content, { chunks: undefined, locator: undefined })
    await session.start()
    await session.done
    expect(digest(await readAll(p.store, content))).toBe(digest(content.bytes))
    expect(session.stats.bytesFromHttp).toBe(content.manifest.size)
    expect(await relay.metric('pipbingo_http_bytes_served_total')).toBe(content.manifest.size)
  })

  it('catches a peer that serves corrupt chunks and completes from others', async () => {
    relay = await startRelay([{ name: content.manifest.name, bytes: content.bytes }])
    const liar = await peer({ store: new LyingStore(-1) })
    await fill(liar.store, content)
    liar.announcer.set(content.contentId, true)
    await liar.announcer.settled()

    const p = await peer()
    const session = p.session(content)
    await session.start()
    await session.done
    expect(digest(await readAll(p.store, content))).toBe(digest(content.bytes))
    expect(session.stats.bytesDiscarded).toBeGreaterThan(0)
    expect(session.sources().find(s => s.id === liar.node.peerId.toString())).toBeUndefined()
    expect(session.stats.snapshot().bySource[liar.node.peerId.toString()]).toBeUndefined()
  })
})
