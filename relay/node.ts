import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { SingleKadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PrivateKey, TLSCertificate } from '@libp2p/interface'
import { catalogueServer, type CatalogueServer, type CatalogueServerInit } from '@core/protocols/catalogue'
import { chunkProtocol, SuperSeed, type ChunkProtocol, type SuperSeedDecision, type UploadEvent } from '@core/protocols/chunk'
import { trackerServer, type TrackerRegistry, type TrackerServer } from '@core/protocols/tracker'
import type { ContentId } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import { muxer } from '@core/protocols/muxer'
import { contentDht } from '@core/routing/dht'
import { BoundedDhtDatastore } from '@core/routing/provider-limits'
import { wssCertificate, type WssCertificate } from './tls/index'

export type RelayNode = Libp2p<{
  identify: unknown
  ping: unknown
  relay: CircuitRelayService
  chunk: ChunkProtocol
  tracker: TrackerServer
  dht: SingleKadDHT
  /** Renews the WSS listener's certificate (with `tls` only). */
  wssCertificate: WssCertificate
  catalogue: CatalogueServer
}>

export interface RelayNodeInit {
  privateKey: PrivateKey
  host: string
  tcpPort: number
  wsPort: number
  /** Serve WSS (`/tls/ws`) rather than WS on `wsPort`, with this certificate to start with. */
  tls?: TLSCertificate
  /** libp2p's `addresses.announce`: advertised instead of the listen addresses. */
  announce?: string[]
  /** libp2p's `announceFilter`: what the advertised addresses become (relay/public-address.ts). */
  announceFilter?: (addrs: Multiaddr[]) => Multiaddr[]
  maxReservations: number
  /** Inbound connections a second from one IP address. */
  inboundPerHost: number
  /** Connections one peer may hold at once; an upgraded inbound connection past it is refused. */
  maxConnectionsPerPeer: number
  store: ChunkStore
  registry: TrackerRegistry
  onUpload(event: UploadEvent): void
  /** Each super-seeding decision on a chunk request (SuperSeed). */
  onSuperSeed?(decision: SuperSeedDecision): void
  /** How long the DHT's provider records live (dht.ts: DHT_PROVIDER_TTL_MS unless a test shortens it). */
  dhtProviderTtlMs?: number
  /** Where the DHT keeps provider records, bounded (provider-limits.ts); made here when not given. */
  datastore?: BoundedDhtDatastore
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
 * tracker, the catalogue protocol other relays ask for the library, and a
 * Kademlia DHT server on our own protocol id (the relays of one network,
 * and their bridges, find each other's contents through it).
 */
export async function createRelayNode (init: RelayNodeInit): Promise<RelayNode> {
  // each chunk of the library enters a crowd about once: the tracker says who is still in it
  const superSeed = new SuperSeed({ present: (contentId, peer) => init.registry.holds(contentId as ContentId, peer), onDecision: init.onSuperSeed })
  let node: RelayNode | undefined
  node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    // the DHT's provider records, bounded per peer and in all (provider-limits.ts)
    datastore: init.datastore ?? new BoundedDhtDatastore(peerIdFromPrivateKey(init.privateKey).toString()),
    addresses: {
      listen: [`/ip4/${init.host}/tcp/${init.tcpPort}`, `/ip4/${init.host}/tcp/${init.wsPort}/${init.tls != null ? 'tls/ws' : 'ws'}`],
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {}),
      ...(init.announceFilter != null ? { announceFilter: init.announceFilter } : {})
    },
    // one identity cannot hold many connections (each with its streams and buffers): past the cap, refused once upgraded
    connectionGater: {
      denyInboundUpgradedConnection: async (peer) => init.isPeerRelay?.(peer) !== true && (node?.getConnections(peer).length ?? 0) >= init.maxConnectionsPerPeer
    },
    transports: [tcp(), webSockets(init.tls != null ? { https: { cert: init.tls.cert, key: init.tls.key } } : {})],
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
      chunk: chunkProtocol({ store: init.store, onUpload: init.onUpload, admit: (peer, contentId, index, isolated) => superSeed.admit(peer, contentId, index, isolated) }),
      wssCertificate: wssCertificate(),
      tracker: trackerServer({
        registry: init.registry,
        onAnnounce: init.onAnnounce,
        // a peer with a reservation here is given circuit addresses through this relay
        reserved: peer => node?.services.relay.reservations.has(peer) ?? false
      }),
      dht: contentDht({ server: true, providerTtlMs: init.dhtProviderTtlMs }),
      catalogue: catalogueServer(init.catalogue)
    }
  }) as unknown as RelayNode
  return node
}
