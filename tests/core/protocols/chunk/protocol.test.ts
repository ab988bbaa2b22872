import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Libp2p } from 'libp2p'

/** The multicodec of /p2p. */
const CODE_P2P = 421
import { MemoryChunkStore } from '@core/store/memory-store'
import { addressOf, chunkProtocol, PROTOCOL, type ChunkProtocol } from '@core/protocols/chunk'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeFrame, FrameType, Status } from '@core/protocols/chunk/codec'
import { Bitfield } from '@core/swarm/bitfield'
import { createTestNode } from '../../../helpers/nodes'
import { chunkOf, makeContent, type TestContent } from '../../../helpers/content'

type Node = Libp2p<{ chunk: ChunkProtocol }>

describe('/pipbingo/chunk/1.1.0 between two real libp2p nodes', () => {
  let content: TestContent
  const nodes: Libp2p[] = []
  beforeAll(async () => { content = await makeContent(5 * 256 * 1024 + 1000) })
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

  async function node (store = new MemoryChunkStore(), init: Partial<Parameters<typeof chunkProtocol>[0]> = {}): Promise<Node> {
    const n = await createTestNode({ chunk: chunkProtocol({ store, ...init }) }) as unknown as Node
    nodes.push(n)
    return n
  }

  async function seeded (chunks: number[], init = {}): Promise<{ node: Node, uploads: number[] }> {
    const store = new MemoryChunkStore()
    await store.putManifest(content.manifest)
    for (const i of chunks) await store.putChunk(content.contentId, i, chunkOf(content, i))
    const uploads: number[] = []
    return { node: await node(store, { onUpload: e => uploads.push(e.index), ...init }), uploads }
  }

  it('answers HAVE with the bitfield and serves exact chunk bytes, pipelined', async () => {
    const { node: server, uploads } = await seeded([0, 1, 2, 5])
    const client = await node()
    const channel = await client.services.chunk.channel(server.peerId, { addrs: server.getMultiaddrs() })

    const have = new Bitfield(6, await channel.have(content.contentId))
    expect([...have.indices()]).toEqual([0, 1, 2, 5])

    const got = await Promise.all([0, 1, 2, 5].map(async i => await channel.getChunk(content.contentId, i)))
    got.forEach((data, k) => expect(data).toEqual(chunkOf(content, [0, 1, 2, 5][k] as number)))
    expect(uploads.sort()).toEqual([0, 1, 2, 5])
  })

  it('says what it does not hold, and what it does not know', async () => {
    const { node: server } = await seeded([0])
    const client = await node()
    const channel = await client.services.chunk.channel(server.peerId, { addrs: server.getMultiaddrs() })
    await expect(channel.getChunk(content.contentId, 3)).rejects.toMatchObject({ name: 'ChunkUnavailableError' })
    await expect(channel.getChunk('cd'.repeat(32), 0)).rejects.toMatchObject({ name: 'ChunkUnavailableError' })
    expect(await channel.have('cd'.repeat(32))).toBeUndefined()
    // the channel survives refusals
    expect(await channel.getChunk(content.contentId, 0)).toEqual(chunkOf(content, 0))
  })

  it('caps concurrent uploads per peer and answers BUSY past the queue limit', async () => {
    const { node: server } = await seeded([0, 1, 2, 3, 4, 5], { maxConcurrentUploadsPerPeer: 1, maxQueuedRequests: 2 })
    const client = await node()
    const channel = await client.services.chunk.channel(server.peerId, { addrs: server.getMultiaddrs() })
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(async i => await channel.getChunk(content.contentId, i)))
    const busy = results.filter(r => r.status === 'rejected' && (r.reason as Error).name === 'PeerBusyError').length
    const ok = results.filter(r => r.status === 'fulfilled').length
    expect(ok).toBeGreaterThanOrEqual(2)
    expect(busy).toBeGreaterThanOrEqual(1)
    expect(ok + busy).toBe(6)
  })

  it('times a request out when the peer never answers', async () => {
    const silent = await node()
    // a peer that reads requests and never answers
    await silent.unhandle(PROTOCOL)
    let requests = 0
    await silent.handle(PROTOCOL, async (stream) => { for await (const _ of stream) requests++ })
    const client = await node(new MemoryChunkStore(), { requestTimeoutMs: 300 })
    const channel = await client.services.chunk.channel(silent.peerId, { addrs: silent.getMultiaddrs() })
    await expect(channel.getChunk(content.contentId, 0)).rejects.toMatchObject({ name: 'RequestTimeoutError' })
    expect(requests).toBeGreaterThan(0)
  })

  it('closes the channel when the peer breaks the protocol', async () => {
    const liar = await node()
    await liar.unhandle(PROTOCOL)
    await liar.handle(PROTOCOL, async (stream) => {
      for await (const _ of stream) {
        // an answer to a request nobody made, with a wrong index
        stream.send(encodeFrame({ type: FrameType.ChunkResponse, id: 1, status: Status.Ok, index: 99, data: new Uint8Array(10) }))
      }
    })
    const client = await node()
    const channel = await client.services.chunk.channel(liar.peerId, { addrs: liar.getMultiaddrs() })
    await expect(channel.getChunk(content.contentId, 0)).rejects.toMatchObject({ name: 'ProtocolViolationError' })
    expect(channel.closed).toBe(true)
    // a new channel is opened on demand
    const again = await client.services.chunk.channel(liar.peerId)
    expect(again).not.toBe(channel)
  })

  it('fails requests in flight when the peer vanishes', async () => {
    const slow = await node()
    await slow.unhandle(PROTOCOL)
    let gotRequest!: () => void
    const requested = new Promise<void>(resolve => { gotRequest = resolve })
    await slow.handle(PROTOCOL, async (stream) => { for await (const _ of stream) gotRequest() })
    const client = await node()
    const channel = await client.services.chunk.channel(slow.peerId, { addrs: slow.getMultiaddrs() })
    const pending = channel.getChunk(content.contentId, 0)
    await requested
    await slow.stop()
    await expect(pending).rejects.toMatchObject({ name: 'ChannelClosedError' })
  })

  it('closes the channel when its stream can no longer be written, so that the next request opens a new one', async () => {
    // a peer that keeps its side of the stream open and never answers: the channel's reading goes on
    const holder = await node()
    await holder.unhandle(PROTOCOL)
    const held: Array<{ close(): Promise<void> }> = []
    await holder.handle(PROTOCOL, async (stream) => { held.push(stream) })
    const client = await node()
    const channel = await client.services.chunk.channel(holder.peerId, { addrs: holder.getMultiaddrs() })
    const stream = client.getConnections(holder.peerId).flatMap(c => c.streams).find(s => s.protocol === PROTOCOL)!
    // our side's writing ends (a muxer that reset it, a local close) while the peer's side stays open
    await stream.close()
    await expect(channel.getChunk(content.contentId, 0)).rejects.toMatchObject({ name: 'ChannelClosedError' })
    // a session that drops this peer and dials it again gets a fresh stream, not this one
    // (it got this one back over and over: a bridge stalled 90 s on a tab so)
    expect(channel.closed).toBe(true)
    const again = await client.services.chunk.channel(holder.peerId)
    expect(again).not.toBe(channel)
    expect(again.closed).toBe(false)
  })

  it('dials an address as the peer\'s own: one naming another peer (the relay it is connected to) is never taken for it', async () => {
    // the bridge of the relays test got, for a tab, `<relay>/p2p-circuit/webrtc` without the tab's id:
    // libp2p read it as a dial of the relay, already connected, and the "tab's" channel went to the relay
    const { node: relay } = await seeded([0])
    const { node: holder } = await seeded([1])
    const client = await node()
    await client.dial(relay.getMultiaddrs())
    const relayAddr = relay.getMultiaddrs()[0]!
    const holderAddr = holder.getMultiaddrs()[0]!.decapsulateCode(CODE_P2P) // its address without its id
    const channel = await client.services.chunk.channel(holder.peerId, { addrs: [relayAddr, holderAddr] })
    expect([...new Bitfield(6, await channel.have(content.contentId)).indices()]).toEqual([1])
    expect(client.getConnections(relay.peerId).flatMap(c => c.streams).some(s => s.protocol === PROTOCOL)).toBe(false)
  })
})

describe('addressOf: an address as a dial of one peer', () => {
  const peer = peerIdFromString('12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf')
  const relay = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
  const of = (a: string): string | undefined => addressOf(peer, multiaddr(a))?.toString()

  it('adds the peer\'s id where the address names no peer after its last circuit, keeps its own, drops another\'s', () => {
    expect(of(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit/webrtc`)).toBe(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit/webrtc/p2p/${peer}`)
    expect(of(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit`)).toBe(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit/p2p/${peer}`)
    expect(of('/ip4/192.0.2.7/tcp/4001')).toBe(`/ip4/192.0.2.7/tcp/4001/p2p/${peer}`)
    expect(of(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit/webrtc/p2p/${peer}`)).toBe(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}/p2p-circuit/webrtc/p2p/${peer}`)
    expect(of(`/ip4/192.0.2.3/tcp/20001/p2p/${relay}`)).toBeUndefined()
    expect(of(`/ip4/192.0.2.3/tcp/20001/p2p/${peer}/p2p-circuit/p2p/${relay}`)).toBeUndefined()
  })
})
