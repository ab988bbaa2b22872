import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { SuperSeedDecision } from '@core/protocols/chunk/super-seed'

/** Values the relay's gauges read when Prometheus scrapes (`GET /metrics`). */
export interface RelayMetricsSources {
  /** Open libp2p connections. */
  peersConnected: () => number
  /** Circuit-relay-v2 reservations held. */
  reservations: () => number
  /** Live (content id, peer) entries in the tracker. */
  trackerEntries: () => number
  /** Videos in the catalogue (default: 0 until given). */
  libraryVideos?: () => number
  /** Videos published from browsers, listed whether or not a peer holds them now (default: 0 until given). */
  publishedVideos?: () => number
  /** DHT servers in the routing table (other relays, reachable bridges). */
  dhtPeers?: () => number
  /** Provider records the DHT keeps for other peers. */
  dhtProviderRecords?: () => number
  /** Videos of the peer relays listed in the catalogue. */
  peerRelayVideos?: () => number
  /** Their manifests held, fetched ahead or for a viewer. */
  peerRelayManifests?: () => number
}

export interface RelayMetricsOptions {
  /** Also export prom-client's Node process metrics (`process_*`, `nodejs_*`); default true. */
  defaultMetrics?: boolean
}

/** The relay's Prometheus metrics; callers use the `add*` helpers, not prom-client. */
export interface RelayMetrics {
  /** The relay's own registry (not prom-client's global one). */
  readonly registry: Registry
  /** `Content-Type` of `text()`: `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string
  /** Bytes of video sent over HTTP (`pipbingo_http_bytes_served_total`). */
  addHttpBytesServed(bytes: number): void
  /** Bytes of chunks sent over libp2p (`pipbingo_libp2p_bytes_served_total`). */
  addLibp2pBytesServed(bytes: number): void
  /** One upload stored (`pipbingo_uploads_total`). */
  addUpload(): void
  /** One super-seeding decision on a library chunk (`pipbingo_super_seed_decisions_total{decision}`). */
  addSuperSeedDecision(decision: SuperSeedDecision): void
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>
}

/**
 * Create the relay's metrics. Gauges call their source at scrape time; a
 * source that throws leaves the gauge at its last value rather than failing
 * the scrape.
 */
export function createRelayMetrics (sources: RelayMetricsSources, options: RelayMetricsOptions = {}): RelayMetrics {
  const registry = new Registry()
  const registers = [registry]

  const httpBytes = new Counter({ name: 'pipbingo_http_bytes_served_total', help: 'Bytes of video sent over HTTP (/videos)', registers })
  const libp2pBytes = new Counter({ name: 'pipbingo_libp2p_bytes_served_total', help: 'Bytes of chunks sent over libp2p', registers })
  const superSeed = new Counter({
    name: 'pipbingo_super_seed_decisions_total',
    help: 'Chunk requests to the origin by super-seeding decision: first (sent for the first time), same (again to its recipient), unlisted (another had it, but it or the requester is not in the tracker\'s swarm), isolated (held back but for the requester saying it reaches no holder), held (answered ELSEWHERE)',
    labelNames: ['decision'],
    registers
  })
  for (const decision of ['first', 'same', 'unlisted', 'isolated', 'held']) superSeed.inc({ decision }, 0)
  const uploads = new Counter({ name: 'pipbingo_uploads_total', help: 'Videos uploaded and added to the library', registers })

  const gauge = (name: string, help: string, read: (() => number) | undefined): void => {
    // eslint-disable-next-line no-new
    new Gauge({
      name,
      help,
      registers,
      collect () {
        if (read == null) return
        try {
          const value = read()
          if (Number.isFinite(value)) this.set(value)
        } catch {}
      }
    })
  }
  gauge('pipbingo_peers_connected', 'Open libp2p connections', sources.peersConnected)
  gauge('pipbingo_relay_reservations', 'Circuit relay reservations held', sources.reservations)
  gauge('pipbingo_tracker_entries', 'Live tracker entries (content id, peer)', sources.trackerEntries)
  gauge('pipbingo_library_videos', 'Videos in the library', sources.libraryVideos)
  gauge('pipbingo_published_videos', 'Videos published from browsers and listed in the catalogue', sources.publishedVideos)
  gauge('pipbingo_dht_peers', 'DHT servers in the routing table (other relays, reachable bridges)', sources.dhtPeers)
  gauge('pipbingo_dht_provider_records', 'DHT provider records kept for other peers', sources.dhtProviderRecords)
  gauge('pipbingo_peer_relay_videos', 'Videos of the peer relays (--peer-relay) listed in the catalogue', sources.peerRelayVideos)
  gauge('pipbingo_peer_relay_manifests', 'Manifests of those videos held in memory (fetched ahead, or for a viewer)', sources.peerRelayManifests)

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })

  const add = (counter: Counter, bytes: number): void => {
    if (Number.isFinite(bytes) && bytes > 0) counter.inc(bytes)
  }
  return {
    registry,
    contentType: registry.contentType,
    addHttpBytesServed: bytes => { add(httpBytes, bytes) },
    addLibp2pBytesServed: bytes => { add(libp2pBytes, bytes) },
    addUpload: () => { uploads.inc() },
    addSuperSeedDecision: decision => { superSeed.inc({ decision }) },
    text: async () => await registry.metrics()
  }
}
