import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { ContentId, Manifest } from '@core/content/manifest'
import { chunkProtocol, type ChunkProtocol } from '@core/protocols/chunk'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import { CombinedLocator } from '@core/routing/combined'
import { contentDht, dhtServer, DhtLocator } from '@core/routing/dht'
import type { ContentLocator } from '@core/routing/types'
import type { ChunkStore } from '@core/store/types'
import { Announcer } from '@core/swarm/announcer'
import { HttpChunkSource } from '@core/swarm/http-source'
import { SwarmSession, type SwarmSessionInit } from '@core/swarm/session'
import { TransferStats } from '@core/swarm/stats'
import { FsChunkStore } from '../../../node-bridge/store/index'

/** `dht` only when started with `{ dht: true }`. */
export type BenchPeerNode = Libp2p<{ identify: unknown, chunk: ChunkProtocol, tracker: TrackerClient, dht?: KadDHT }>

export interface SessionOptions {
  contentId: ContentId
  manifest: Manifest
  /** The origin's HTTP fallback (`{ baseUrl, filename }`); none: peers and the origin's libp2p side only. */
  http?: { baseUrl: string, filename: string }
  /** Knobs the session exposes, for experiments; a real client passes none. */
  knobs?: Pick<SwarmSessionInit, 'peerSlots' | 'criticalWindowBytes'>
  /** Diagnostics only: download into this store instead of the peer's FsChunkStore. */
  store?: ChunkStore
}

export interface BenchPeer {
  node: BenchPeerNode
  store: FsChunkStore
  announcer: Announcer
  /** What its announcer and sessions ask: the relay's tracker, or with `{ dht: true }` the tracker and the DHT together as a bridge asks them. */
  locator: ContentLocator
  /** The DHT alone, with `{ dht: true }` (the relays suite times its lookups). */
  dht?: DhtLocator
  stats: TransferStats
  /** Chunk bytes this peer served to others. */
  uploaded: { bytes: number }
  /** A session with the defaults a real client uses (only the knobs asked for differ). */
  session(options: SessionOptions): SwarmSession
  stop(): Promise<void>
}

export interface BenchPeerOptions {
  /**
   * Inbound connections libp2p accepts per second from one host (its default
   * is 5). On loopback every peer is the one host 127.0.0.1; a bench of many
   * peers raises it so that each peer stands for a machine of its own.
   */
  inboundConnectionThreshold?: number
  /**
   * Run the relays' Kademlia DHT as a bridge does (on loopback, a client:
   * node-bridge/node.ts `dhtServer`) and ask it beside the tracker through
   * a CombinedLocator built as node-bridge/bridge.ts builds it. Off: the
   * tracker alone, as before the DHT.
   */
  dht?: boolean
}

/**
 * A Node peer as the bridge would be: libp2p over loopback TCP with noise and
 * yamux, the chunk protocol serving from an FsChunkStore in `storeDir`, the
 * relay's tracker as its locator (with `dht`, the tracker and the DHT), an
 * announcer with its default timings.
 */
/** Where bench peers listen: loopback, as a bridge does by default. */
const HOST = '127.0.0.1'

export async function startBenchPeer (tracker: Multiaddr, storeDir: string, name: string, options: BenchPeerOptions = {}): Promise<BenchPeer> {
  const store = await FsChunkStore.open({ dir: storeDir })
  const stats = new TransferStats()
  const uploaded = { bytes: 0 }
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${HOST}/tcp/0`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...options.inboundConnectionThreshold == null ? {} : { connectionManager: { inboundConnectionThreshold: options.inboundConnectionThreshold } },
    services: {
      identify: identify(),
      chunk: chunkProtocol({ store, onUpload: e => { uploaded.bytes += e.bytes; stats.uploaded(e.bytes) } }),
      tracker: trackerClient({ tracker }),
      // kad-dht pings the contacts of its routing table: it needs the ping service, as the bridge's node has
      ...options.dht === true ? { ping: ping(), dht: contentDht({ server: dhtServer(HOST) }) } : {}
    } as Record<string, unknown>
  } as Parameters<typeof createLibp2p>[0]) as unknown as BenchPeerNode
  const dhtLog = logger(`pipbingo:bench:${name}:dht`)
  const dht = node.services.dht == null
    ? undefined
    : new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: dhtLog })
  const locator: ContentLocator = dht == null
    ? node.services.tracker
    : new CombinedLocator({
      tracker: node.services.tracker,
      dht,
      trackerAt: addrs => node.services.tracker.at(addrs),
      selfId: node.peerId.toString(),
      onBackgroundError: err => { dhtLog('an announcement to the DHT or to another relay failed (tried again at the next renewal): %s', err.message) }
    })
  const announcer = new Announcer({ locator, log: logger(`pipbingo:bench:${name}:announcer`) })
  announcer.start()
  return {
    node,
    store,
    announcer,
    locator,
    dht,
    stats,
    uploaded,
    session: (options) => new SwarmSession({
      contentId: options.contentId,
      manifest: options.manifest,
      store: options.store ?? store,
      log: logger(`pipbingo:bench:${name}:session`),
      chunks: node.services.chunk,
      locator,
      announcer,
      parentStats: stats,
      selfId: node.peerId.toString(),
      http: options.http == null ? undefined : new HttpChunkSource(options.http),
      ...options.knobs
    }),
    async stop () {
      announcer.stop()
      await node.stop()
      await store.close()
    }
  }
}
