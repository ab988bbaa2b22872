import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChunkChannel, ChunkProtocol } from '@core/protocols/chunk'
import type { ChunkEvent } from '@core/swarm/session'
import { digest, makeContent, type TestContent } from '../../helpers/content'
import { fill, readAll, startOrigin, startPeer, type Origin, type Peer } from '../../helpers/swarm'

/**
 * What a session learns of a peer's chunks, the peer tells it: pushed
 * have-updates on the chunk protocol, no polling.
 */
describe('SwarmSession: peers push the chunks they store', () => {
  let content: TestContent
  let origin: Origin
  const peers: Peer[] = []
  beforeAll(async () => { content = await makeContent(24 * 256 * 1024, { seed: 23 }) })
  afterEach(async () => {
    for (const p of peers.splice(0)) { p.announcer.stop(); await p.node.stop() }
    await origin?.node.stop()
  })

  /** `real`, with every channel it opens counting the HAVE_REQUESTs sent and the indexes pushed back. */
  function observed (real: ChunkProtocol): { chunks: ChunkProtocol, haveRequests: number, pushed: number[] } {
    const seen = new WeakSet<ChunkChannel>()
    const counts = {
      haveRequests: 0,
      pushed: [] as number[],
      chunks: {
        channel: async (peer, options) => {
          const channel = await real.channel(peer, options)
          if (seen.has(channel)) return channel
          seen.add(channel)
          // HAVE_REQUEST frames are sent by have() and nothing else
          const have = channel.have.bind(channel)
          channel.have = async (...args) => { counts.haveRequests++; return await have(...args) }
          const subscribeHave = channel.subscribeHave.bind(channel)
          channel.subscribeHave = async (contentId, onUpdate, options) =>
            await subscribeHave(contentId, indexes => { counts.pushed.push(...indexes); onUpdate(indexes) }, options)
          return channel
        }
      } satisfies ChunkProtocol
    }
    return counts
  }

  it('a viewer connected to a peer that is still downloading learns of each chunk it stores by push, and fetches it from that peer', async () => {
    // the relay's stand-in only tracks: the downloading peer is the one holder
    origin = await startOrigin([])
    const a = await startPeer(origin)
    peers.push(a)
    // A's download so far: the first 4 chunks
    await fill(a.store, content, [0, 1, 2, 3])
    a.announcer.set(content.contentId, false)
    await a.announcer.settled()

    const b = await startPeer(origin)
    peers.push(b)
    const watch = observed(b.node.services.chunk)
    const session = b.session(content, { chunks: watch.chunks })
    const fetched = new Map<number, string>()
    const arrivals = new Map<number, () => void>()
    const arrived = async (index: number): Promise<void> => {
      if (fetched.has(index)) return
      await new Promise<void>(resolve => arrivals.set(index, resolve))
    }
    session.addEventListener('chunk', (e) => {
      const { index, source } = (e as CustomEvent<ChunkEvent>).detail
      fetched.set(index, source)
      arrivals.get(index)?.()
    })
    await session.start()
    for (const i of [0, 1, 2, 3]) await arrived(i)

    // A's download goes on: each chunk it stores reaches B by push, and B fetches it from A
    for (let i = 4; i < content.manifest.hashes.length; i += 2) {
      await fill(a.store, content, [i + 1, i]) // out of order, two at a time
      await Promise.all([arrived(i), arrived(i + 1)])
    }
    await session.done

    expect(watch.haveRequests).toBe(0)
    expect([...watch.pushed].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, k) => 4 + k))
    expect(new Set(fetched.values())).toEqual(new Set([a.node.peerId.toString()]))
    expect(session.stats.snapshot().bySource[a.node.peerId.toString()]).toBe(content.manifest.size)
    expect(digest(await readAll(b.store, content))).toBe(digest(content.bytes))
  })
})
