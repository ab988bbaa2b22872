import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { MemoryChunkStore } from '@core/store/memory-store'
import type { ChunkListener } from '@core/store/listeners'
import { chunkProtocol, type ChunkChannel, type ChunkProtocol } from '@core/protocols/chunk'
import { decodeFrame, encodeFrame, FrameType, Status, type Frame } from '@core/protocols/chunk/codec'
import { DEFAULT_MAX_HAVE_SUBSCRIPTIONS, MAX_FRAME_BYTES } from '@core/protocols/chunk/constants'
import { Bitfield } from '@core/swarm/bitfield'
import { createTestNode } from '../../../helpers/nodes'
import { chunkOf, makeContent, type TestContent } from '../../../helpers/content'
import { chunkRequests, startRogue, STREAM_WINDOW, until, type Rogue } from '../../../helpers/rogue'

type Node = Libp2p<{ chunk: ChunkProtocol }>

/** A memory store that says when its listeners come and go. */
class WatchedStore extends MemoryChunkStore {
  listening = 0
  private readonly changes = new Set<() => void>()

  override onChunk (contentId: string, listener: ChunkListener): () => void {
    const stop = super.onChunk(contentId, listener)
    this.listening++
    this.changed()
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      stop()
      this.listening--
      this.changed()
    }
  }

  /** Resolves once `listening` is `count`. */
  async untilListening (count: number): Promise<void> {
    while (this.listening !== count) await new Promise<void>(resolve => { this.changes.add(resolve) })
  }

  private changed (): void {
    const waiting = [...this.changes]
    this.changes.clear()
    waiting.forEach(resolve => resolve())
  }
}

/** Collects a subscription's updates; `next()` resolves with the next one. */
function updates (): { listener: (indexes: number[]) => void, all: number[][], next(): Promise<number[]> } {
  const all: number[][] = []
  const waiting: Array<(indexes: number[]) => void> = []
  const queued: number[][] = []
  return {
    all,
    listener: indexes => {
      all.push(indexes)
      const w = waiting.shift()
      if (w != null) w(indexes)
      else queued.push(indexes)
    },
    next: async () => {
      const q = queued.shift()
      if (q != null) return q
      return await new Promise(resolve => waiting.push(resolve))
    }
  }
}

describe('HAVE subscriptions on /pipbingo/chunk/1.1.0 between two real libp2p nodes', () => {
  let content: TestContent
  const nodes: Libp2p[] = []
  const rogues: Rogue[] = []
  beforeAll(async () => { content = await makeContent(40 * 256 * 1024, { seed: 5 }) })
  afterEach(async () => {
    await Promise.all(rogues.splice(0).map(async r => { await r.stop() }))
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  async function node (store = new MemoryChunkStore()): Promise<Node> {
    const n = await createTestNode({ chunk: chunkProtocol({ store }) }) as unknown as Node
    nodes.push(n)
    return n
  }

  /** A server holding `chunks` of the content, and a client's channel to it. */
  async function pair (chunks: number[]): Promise<{ store: WatchedStore, server: Node, channel: ChunkChannel }> {
    const store = new WatchedStore()
    await store.putManifest(content.manifest)
    for (const i of chunks) await store.putChunk(content.contentId, i, chunkOf(content, i))
    const server = await node(store)
    const client = await node()
    const channel = await client.services.chunk.channel(server.peerId, { addrs: server.getMultiaddrs() })
    return { store, server, channel }
  }

  async function put (store: MemoryChunkStore, index: number): Promise<void> {
    await store.putChunk(content.contentId, index, chunkOf(content, index))
  }

  it('answers with the bitfield, then pushes each chunk the server stores, in the order it stores them; nothing after CANCEL', async () => {
    const { store, channel } = await pair([0, 5])
    const got = updates()
    const subscription = await channel.subscribeHave(content.contentId, got.listener)
    expect([...new Bitfield(40, subscription!.bitfield).indices()]).toEqual([0, 5])

    const order = [17, 3, 39, 1, 22]
    for (const i of order) {
      await put(store, i)
      expect(await got.next()).toEqual([i])
    }
    // a chunk stored again is no news
    await put(store, 17)

    subscription!.cancel()
    // a second subscription on the same stream marks the point: frames come in order,
    // so an update for the first one would arrive before this one's
    const marker = updates()
    await channel.have(content.contentId) // the server has read the CANCEL
    await store.untilListening(0)
    const other = await channel.subscribeHave(content.contentId, marker.listener)
    expect(other).toBeDefined()
    await put(store, 30)
    expect(await marker.next()).toEqual([30])
    expect(got.all).toEqual(order.map(i => [i]))
  })

  it('chunks stored in a burst each arrive exactly once, none lost between the bitfield and the first update', async () => {
    const { store, channel } = await pair([])
    const got = updates()
    // stored while the subscription is being answered and right after
    const storing = (async () => { for (let i = 0; i < 12; i++) await put(store, i) })()
    const subscription = await channel.subscribeHave(content.contentId, got.listener)
    await storing
    const inBitfield = [...new Bitfield(40, subscription!.bitfield).indices()]
    const pushed = (): number[] => got.all.flat()
    while (new Set([...inBitfield, ...pushed()]).size < 12) await got.next()
    expect(new Set([...inBitfield, ...pushed()])).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)))
    // nothing is sent twice, apart from a chunk that landed while the bitfield was read
    expect(new Set(pushed()).size).toBe(pushed().length)
    subscription!.cancel()
  })

  it('answers BUSY past the cap of subscriptions per stream, and takes one again after a CANCEL', async () => {
    const { store, channel } = await pair([0])
    const subscriptions = []
    for (let i = 0; i < DEFAULT_MAX_HAVE_SUBSCRIPTIONS; i++) subscriptions.push(await channel.subscribeHave(content.contentId, () => {}))
    expect(subscriptions.every(s => s != null)).toBe(true)
    await expect(channel.subscribeHave(content.contentId, () => {})).rejects.toMatchObject({ name: 'PeerBusyError' })
    // the channel survives the refusal
    expect(await channel.have(content.contentId)).toBeDefined()
    subscriptions[0]!.cancel()
    await store.untilListening(DEFAULT_MAX_HAVE_SUBSCRIPTIONS - 1)
    expect(await channel.subscribeHave(content.contentId, () => {})).toBeDefined()
  })

  it('does not subscribe to a content the server does not know', async () => {
    const { store, channel } = await pair([0])
    expect(await channel.subscribeHave('cd'.repeat(32), () => {})).toBeUndefined()
    await store.untilListening(0)
  })

  it('ends every subscription when the stream closes', async () => {
    const { store, channel } = await pair([0])
    await channel.subscribeHave(content.contentId, () => {})
    await channel.subscribeHave(content.contentId, () => {})
    expect(store.listening).toBe(2)
    channel.close()
    await store.untilListening(0)
  })

  it('a subscriber that stops reading gets what landed meanwhile coalesced into one update: one bit per chunk on the server, not a frame each', async () => {
    const store = new WatchedStore()
    await store.putManifest(content.manifest)
    for (let i = 0; i < 8; i++) await put(store, i)
    const server = await node(store)
    const rogue = await startRogue()
    rogues.push(rogue)
    const { stream } = await rogue.open(server.getMultiaddrs()[0]!)

    // subscribe, then stop reading and ask for 8 chunks: the server fills the
    // stream's window and its writes stall behind the chunks
    stream.pause()
    stream.send(encodeFrame({ type: FrameType.HaveSubscribe, id: 100, contentId: content.contentId }))
    stream.send(chunkRequests(content.contentId, 8, 8))
    await until(() => stream.readBufferLength >= STREAM_WINDOW, 'the server to fill the stream window')
    await store.untilListening(1)

    // 32 chunks land while the subscriber reads nothing
    for (let i = 8; i < 40; i++) await put(store, i)

    const reader = new FrameReader(stream)
    stream.resume()
    // a HAVE_REQUEST after everything: the update, queued before it, comes before its answer
    stream.send(encodeFrame({ type: FrameType.HaveRequest, id: 200, contentId: content.contentId }))
    let chunks = 0
    let answered = false
    const frames = await reader.until(f => {
      if (f.type === FrameType.ChunkResponse && f.status === Status.Ok) chunks++
      if (f.type === FrameType.HaveResponse && f.id === 200) answered = true
      return chunks === 8 && answered
    })

    const subscribed = frames.find(f => f.type === FrameType.HaveResponse && f.id === 100)
    expect(subscribed).toMatchObject({ status: Status.Ok })
    const pushed = frames.filter(f => f.type === FrameType.HaveUpdate)
    expect(frames.findIndex(f => f.type === FrameType.HaveUpdate)).toBeLessThan(frames.findIndex(f => f.type === FrameType.HaveResponse && f.id === 200))
    expect(pushed).toEqual([{ type: FrameType.HaveUpdate, id: 100, indexes: Array.from({ length: 32 }, (_, k) => 8 + k) }])
    // and the subscription still works the ordinary way
    stream.send(encodeFrame({ type: FrameType.Cancel, id: 100 }))
    stream.send(encodeFrame({ type: FrameType.HaveRequest, id: 201, contentId: content.contentId }))
    await reader.until(f => f.type === FrameType.HaveResponse && f.id === 201)
    await store.untilListening(0)
  })
})

/** Reads a raw stream's frames, one decoder and one iterator for the whole test (leaving a `for await` would end the stream). */
class FrameReader {
  private readonly decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_FRAME_BYTES * 16 })
  private readonly source: AsyncIterator<Uint8Array | Uint8ArrayList>
  private readonly decoded: Frame[] = []

  constructor (stream: Stream) {
    this.source = stream[Symbol.asyncIterator]()
  }

  /** Frames up to and including the first that matches `last`, in order. */
  async until (last: (frame: Frame) => boolean): Promise<Frame[]> {
    const frames: Frame[] = []
    while (true) {
      const frame = this.decoded.shift()
      if (frame != null) {
        frames.push(frame)
        if (last(frame)) return frames
        continue
      }
      const { value, done } = await this.source.next()
      if (done === true) throw new Error('the stream ended first')
      for (const raw of this.decoder.decode(value)) this.decoded.push(decodeFrame(raw))
    }
  }
}
