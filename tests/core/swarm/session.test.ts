import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChunkStore } from '@core/store/types'
import { digest, makeContent, type TestContent } from '../../helpers/content'
import { fill, readAll, startOrigin, startPeer, type Origin, type Peer } from '../../helpers/swarm'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { PROTOCOL } from '@core/protocols/chunk'
import { decodeFrame, encodeFrame, FrameType, Status } from '@core/protocols/chunk/codec'
import { Bitfield } from '@core/swarm/bitfield'
import { FillingStore, LyingStore, SlowStore } from '../../helpers/stores'
import { MemoryChunkStore } from '@core/store/memory-store'

describe('SwarmSession between real libp2p nodes', () => {
  let content: TestContent
  let origin: Origin
  const peers: Peer[] = []
  beforeAll(async () => { content = await makeContent(24 * 256 * 1024 + 12345, { seed: 7 }) })
  afterEach(async () => {
    for (const p of peers.splice(0)) { p.announcer.stop(); await p.node.stop() }
    await origin?.node.stop()
  })

  async function peer (store?: ChunkStore): Promise<Peer> {
    const p = await startPeer(origin, { store })
    peers.push(p)
    return p
  }

  it('peer 1 fetches from the origin; peer 2 from peer 1 and the origin; both byte-identical', async () => {
    origin = await startOrigin([content])
    const p1 = await peer()
    const s1 = p1.session(content)
    await s1.start()
    await s1.done
    expect(digest(await readAll(p1.store, content))).toBe(digest(content.bytes))
    expect(s1.stats.bytesFromPeers).toBe(content.manifest.size)
    expect(s1.stats.bytesFromOriginPeer).toBe(content.manifest.size)
    await p1.announcer.settled()

    const originBefore = origin.uploaded.bytes
    const p2 = await peer()
    const s2 = p2.session(content)
    await s2.start()
    await s2.done
    expect(digest(await readAll(p2.store, content))).toBe(digest(content.bytes))
    const fromP1 = s2.stats.snapshot().bySource[p1.node.peerId.toString()] ?? 0
    // peers are preferred to the origin: p1 carried (nearly) all of it
    expect(fromP1).toBeGreaterThan(0.8 * content.manifest.size)
    expect(p1.uploaded.bytes).toBe(fromP1)
    expect(origin.uploaded.bytes - originBefore).toBe(content.manifest.size - fromP1)
  })

  it('tells the tracker again when it forgot this peer mid-download (a relay drops a peer\'s announcements with its last connection)', async () => {
    origin = await startOrigin([content])
    // chunks land only once the test lets them: the download outlasts what the test does
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    class GatedStore extends MemoryChunkStore {
      override async putChunk (contentId: string, index: number, data: Uint8Array): Promise<void> {
        await gate
        await super.putChunk(contentId, index, data)
      }
    }
    const b = await peer(new GatedStore())
    const self = b.node.peerId.toString()
    const listed = async (): Promise<void> => await new Promise<void>(resolve => {
      if (origin.registry.holds(content.contentId, self)) { resolve(); return }
      const off = origin.registry.onChange(() => { if (origin.registry.holds(content.contentId, self)) { off(); resolve() } })
    })
    const session = b.session(content)
    await session.start()
    await listed()
    origin.registry.removePeer(self)
    expect(origin.registry.holds(content.contentId, self)).toBe(false)
    // the next find's answer does not name it: it announces again (no renewal is due for minutes)
    await listed()
    open()
    await session.done
    expect(digest(await readAll(b.store, content))).toBe(digest(content.bytes))
  })

  it('ends with DiskFullError when its store is full, keeping the chunks it stored, instead of asking again and again', async () => {
    origin = await startOrigin([content])
    const store = new FillingStore(5)
    const p = await peer(store)
    const session = p.session(content)
    await session.start()
    await expect(session.done).rejects.toMatchObject({ name: 'DiskFullError', message: expect.stringMatching(/ENOSPC/) })
    expect(session.stopped).toBe(true)
    // what fit stays (a put already under way may still be landing)
    const held = (await store.have(content.contentId))!.count()
    expect(held).toBeGreaterThan(0)
    expect(held).toBeLessThanOrEqual(5)
  })

  it('drops a peer that serves corrupt chunks and completes from others', async () => {
    origin = await startOrigin([content])
    const liar = await peer(new LyingStore())
    await fill(liar.store, content)
    liar.announcer.set(content.contentId, true)
    await liar.announcer.settled()

    const victim = await peer()
    const session = victim.session(content)
    const dropped = new Promise<void>(resolve => session.addEventListener('peer', () => {
      if (!session.sources().some(s => s.id === liar.node.peerId.toString())) resolve()
    }))
    await session.start()
    await session.done
    await dropped
    expect(digest(await readAll(victim.store, content))).toBe(digest(content.bytes))
    expect(session.stats.bytesDiscarded).toBeGreaterThan(0)
    expect(session.stats.snapshot().bySource[liar.node.peerId.toString()]).toBeUndefined()
  })

  it('does not stall when a peer vanishes mid-transfer', async () => {
    origin = await startOrigin([content])
    const leaver = await peer(new SlowStore(40))
    await fill(leaver.store, content)
    leaver.announcer.set(content.contentId, true)
    await leaver.announcer.settled()

    const p = await peer()
    const session = p.session(content)
    let fromLeaver = 0
    const halfway = new Promise<void>(resolve => session.addEventListener('chunk', (e: any) => {
      if (e.detail.source === leaver.node.peerId.toString() && ++fromLeaver === 4) resolve()
    }))
    await session.start()
    await halfway
    await leaver.node.stop()
    await session.done
    expect(digest(await readAll(p.store, content))).toBe(digest(content.bytes))
    expect(session.stats.snapshot().bySource[leaver.node.peerId.toString()]).toBeGreaterThan(0)
    expect(session.stats.bytesFromOriginPeer).toBeGreaterThan(0)
  })

  it('moves requests off a peer that stops sending bytes', async () => {
    origin = await startOrigin([content])
    const silent = await peer()
    await fill(silent.store, content)
    // it says it holds everything (to the session's HAVE subscription), then never sends a chunk
    await silent.node.unhandle(PROTOCOL)
    await silent.node.handle(PROTOCOL, async (stream) => {
      const decoder = new LengthPrefixedDecoder()
      for await (const buf of stream) {
        for (const raw of decoder.decode(buf)) {
          const f = decodeFrame(raw)
          if (f.type === FrameType.HaveSubscribe) stream.send(encodeFrame({ type: FrameType.HaveResponse, id: f.id, status: Status.Ok, bitfield: Bitfield.full(content.manifest.hashes.length).toBytes() }))
        }
      }
    })
    silent.announcer.set(content.contentId, true)
    await silent.announcer.settled()

    const p = await peer()
    const session = p.session(content, { stallMs: 300 })
    await session.start()
    await session.done
    expect(digest(await readAll(p.store, content))).toBe(digest(content.bytes))
    expect(session.stats.snapshot().bySource[silent.node.peerId.toString()]).toBeUndefined()
    expect(session.stats.bytesFromOriginPeer).toBe(content.manifest.size)
  })

  it('waitForChunk moves the critical window to where a reader waits', async () => {
    origin = await startOrigin([content])
    const p = await peer()
    const session = p.session(content, { peerSlots: 1, criticalWindowBytes: 256 * 1024 })
    const order: number[] = []
    session.addEventListener('chunk', (e: any) => order.push(e.detail.index))
    const wanted = session.waitForChunk(20)
    await session.start()
    await wanted
    // chunk 20 came among the very first, not after 0..19
    expect(order.indexOf(20)).toBeLessThan(3)
    await session.done
  })
})
