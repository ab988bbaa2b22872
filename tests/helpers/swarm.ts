import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'
import type { Libp2p } from 'libp2p'
import { chunkProtocol, SuperSeed, type ChunkProtocol } from '@core/protocols/chunk'
import { TrackerRegistry, trackerClient, trackerServer, type TrackerClient } from '@core/protocols/tracker'
import type { ContentId } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import { MemoryChunkStore } from '@core/store/memory-store'
import { Announcer } from '@core/swarm/announcer'
import { SwarmSession, type SwarmSessionInit } from '@core/swarm/session'
import { TransferStats } from '@core/swarm/stats'
import { HttpChunkSource } from '@core/swarm/http-source'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createTestNode } from './nodes'
import { chunkOf, type TestContent } from './content'

export type OriginNode = Libp2p<{ chunk: ChunkProtocol, tracker: unknown }>
export type PeerNode = Libp2p<{ chunk: ChunkProtocol, tracker: TrackerClient }>

export interface Origin {
  node: OriginNode
  registry: TrackerRegistry
  store: ChunkStore
  uploaded: { bytes: number }
  superSeed: SuperSeed
  /** Every chunk request the origin's chunk server weighed, in order, and whether it sent the chunk. */
  asked: Array<{ peer: string, contentId: string, index: number, sent: boolean }>
}

/** A stand-in for the relay's libp2p side: tracker + chunk server (super-seeding, as the relay's) over a store that holds `contents`. */
export async function startOrigin (contents: TestContent[]): Promise<Origin> {
  const store = new MemoryChunkStore()
  const uploaded = { bytes: 0 }
  const registry = new TrackerRegistry()
  const superSeed = new SuperSeed({ present: (contentId, peer) => registry.holds(contentId as ContentId, peer) })
  const asked: Origin['asked'] = []
  const node = await createTestNode({
    chunk: chunkProtocol({
      store,
      onUpload: e => { uploaded.bytes += e.bytes },
      admit: (peer, contentId, index, isolated) => {
        const sent = superSeed.admit(peer, contentId, index, isolated)
        asked.push({ peer, contentId, index, sent })
        return sent
      }
    }),
    tracker: trackerServer({ registry })
  }) as unknown as OriginNode
  for (const c of contents) await fill(store, c)
  registry.announce(node.peerId.toString(), node.getMultiaddrs().map(String),
    contents.map(c => ({ contentId: c.contentId, complete: true })), { origin: true, pinned: true })
  return { node, registry, store, uploaded, superSeed, asked }
}

export async function fill (store: ChunkStore, content: TestContent, indices?: number[]): Promise<void> {
  await store.putManifest(content.manifest)
  for (const i of indices ?? content.manifest.hashes.map((_, i) => i)) await store.putChunk(content.contentId, i, chunkOf(content, i))
}

export interface Peer {
  node: PeerNode
  store: ChunkStore
  stats: TransferStats
  announcer: Announcer
  uploaded: { bytes: number }
  session(content: TestContent, init?: Partial<SwarmSessionInit>): SwarmSession
}

export interface StartPeerOptions {
  store?: ChunkStore
  /** The origin's HTTP base URL, to give every session an HTTP fallback. */
  httpBase?: string
  /** Filename of each content at the origin (for the HTTP fallback). */
  filenames?: Map<string, string>
}

/** A Node peer that uses `tracker` (an Origin stand-in, or a multiaddr of a real relay). */
export async function startPeer (tracker: Origin | Multiaddr, options: StartPeerOptions = {}): Promise<Peer> {
  const trackerAddr = 'node' in tracker ? tracker.node.getMultiaddrs()[0]! : tracker
  const store = options.store ?? new MemoryChunkStore()
  const stats = new TransferStats()
  const uploaded = { bytes: 0 }
  const node = await createTestNode({
    chunk: chunkProtocol({ store, onUpload: e => { uploaded.bytes += e.bytes; stats.uploaded(e.bytes) } }),
    tracker: trackerClient({ tracker: trackerAddr })
  }) as unknown as PeerNode
  const announcer = new Announcer({ locator: node.services.tracker, log: logger('test:announcer'), debounceMs: 10 })
  announcer.start()
  return {
    node,
    store,
    stats,
    announcer,
    uploaded,
    session: (content, init = {}) => new SwarmSession({
      contentId: content.contentId,
      manifest: content.manifest,
      store,
      log: logger('test:session'),
      chunks: node.services.chunk,
      locator: node.services.tracker,
      announcer,
      parentStats: stats,
      selfId: node.peerId.toString(),
      http: options.httpBase == null
        ? undefined
        : new HttpChunkSource({ baseUrl: options.httpBase, filename: options.filenames?.get(content.contentId) ?? content.manifest.name }),
      discoveryIntervalMs: 200,
      ...init
    })
  }
}

/** The whole content as the store holds it, in order. */
export async function readAll (store: ChunkStore, content: TestContent): Promise<Uint8Array> {
  const out = new Uint8Array(content.manifest.size)
  for (let i = 0; i < content.manifest.hashes.length; i++) {
    const chunk = await store.getChunk(content.contentId, i)
    if (chunk == null) throw new Error(`chunk ${i} missing`)
    out.set(chunk, i * content.manifest.chunkSize)
  }
  return out
}

/**
 * The origin's HTTP side for `contents`: `GET /videos/<name>` with a single
 * `bytes=a-b` range, as the relay answers it, and a count of what it sent.
 */
export async function startHttpOrigin (contents: TestContent[]): Promise<{ url: string, sent: { bytes: number, requests: number }, close(): Promise<void> }> {
  const byName = new Map(contents.map(c => [`/videos/${encodeURIComponent(c.manifest.name)}`, c.bytes]))
  const sent = { bytes: 0, requests: 0 }
  const server = createServer((req, res) => {
    const bytes = byName.get(req.url ?? '')
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    if (bytes == null || range == null) { res.writeHead(bytes == null ? 404 : 416).end(); return }
    const start = Number(range[1])
    const end = Math.min(Number(range[2]), bytes.byteLength - 1)
    if (start > end) { res.writeHead(416).end(); return }
    sent.bytes += end - start + 1
    sent.requests++
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${bytes.byteLength}`, 'Content-Length': String(end - start + 1) })
    res.end(bytes.subarray(start, end + 1))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, sent, close: async () => { server.closeAllConnections(); await new Promise<void>(resolve => server.close(() => resolve())) } }
}
