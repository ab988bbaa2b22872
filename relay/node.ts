import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { catalogueServer, type CatalogueServer, type CatalogueServerInit } from '@core/protocols/catalogue'
import { chunkProtocol, SuperSeed, type ChunkProtocol, type UploadEvent } from '@core/protocols/chunk'
import { trackerServer, type TrackerRegistry, type TrackerServer } from '@core/protocols/tracker'
import type { ContentId } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import { muxer } from '@core/protocols/muxer'

export type RelayNode = Libp2p<{
  identify: unknown
  ping: unknown
  relay: CircuitRelayService
  chunk: ChunkProtocol
  tracker: TrackerServer
  catalogue: CatalogueServer
}>

export interface RelayNodeInit {
  privateKey: PrivateKey
  host: string
  tcpPort: number
  wsPort: number
  maxReservations: number
  /** Inbound connections a second from one IP address. */
  inboundPerHost: number
  /** Connections one peer may hold at once; an upgraded inbound connection past it is refused. */
  maxConnectionsPerPeer: number
  store: ChunkStore
  registry: TrackerRegistry
  onUpload(event: UploadEvent): void
  /** A peer announced contents over the network (the relay asks it what it holds: holders.ts). */
  onAnnounce?(peer: PeerId, entries: Array<{ contentId: ContentId, complete: boolean }>): void
  /** What /pipbingo/catalogue/1.0.0 shares (the library) and whom it answers now. */
  catalogue: CatalogueServerInit
  /** A configured peer relay: no cap on its connections (relays dial each other both ways). */
  isPeerRelay?(peer: PeerId): boolean
  /** IP addresses (`/ip4/…`) exempt from the connection cap, the inbound rate and pruning: the peer relays'. */
  allow?: string[]
}

/** Relayed connections carry WebRTC signalling only: 128 KiB and 2 minutes each. */
export const RELAYED_DATA_LIMIT = 128n * 1024n
export const RELAYED_DURATION_LIMIT_MS = 2 * 60_000

/**
 * The relay's libp2p node: TCP and WebSockets, noise, yamux, identify, ping,
 * a circuit-relay-v2 server with explicit limits, the chunk protocol over
 * the library (the origin seed, super-seeding: see SuperSeed), the
 * tracker, and the catalogue protocol other relays ask for the library.
 */
export async function createRelayNode (init: RelayNodeInit): Promise<RelayNode> {
  // each chunk of the library enters a crowd about once: the tracker says who is still in it
  const superSeed = new SuperSeed({ present: (contentId, peer) => init.registry.holds(contentId as ContentId, peer) })
  let node: RelayNode | undefined
  node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: {
      listen: [`/ip4/${init.host}/tcp/${init.tcpPort}`, `/ip4/${init.host}/tcp/${init.wsPort}/ws`]
    },
    // one identity cannot hold many connections (each with its streams and buffers): past the cap, refused once upgraded
    connectionGater: {
      denyInboundUpgradedConnection: async (peer) => init.isPeerRelay?.(peer) !== true && (node?.getConnections(peer).length ?? 0) >= init.maxConnectionsPerPeer
    },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    connectionManager: { maxConnections: init.maxReservations + 256, inboundConnectionThreshold: init.inboundPerHost, allow: init.allow },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: init.maxReservations,
          reservationTtl: 2 * 60 * 60_000,
          applyDefaultLimit: true,
          defaultDataLimit: RELAYED_DATA_LIMIT,
          defaultDurationLimit: RELAYED_DURATION_LIMIT_MS
        }
      }),
      chunk: chunkProtocol({ store: init.store, onUpload: init.onUpload, admit: (peer, contentId, index) => superSeed.admit(peer, contentId, index) }),
      tracker: trackerServer({
        registry: init.registry,
        onAnnounce: init.onAnnounce,
        // a peer with a reservation here is given circuit addresses through this relay
        reserved: peer => node?.services.relay.reservations.has(peer) ?? false
      }),
      catalogue: catalogueServer(init.catalogue)
    }
  }) as unknown as RelayNode
  return node
}
