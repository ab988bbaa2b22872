import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { DOWNLOAD_STATES, type DownloadState } from './downloads/states'
import type { BridgeStats } from './stats'

/** The bridge's Prometheus metrics (`GET /metrics`), in a registry of its own. */
export interface BridgeMetrics {
  readonly registry: Registry
  readonly contentType: string
  text(): Promise<string>
}

export interface BridgeMetricsSources {
  stats(): Promise<BridgeStats>
  downloads(state: DownloadState): number
}

/**
 * Every value is read at scrape time from the same numbers `/stats` shows:
 * counters mirror the daemon's byte totals, gauges its current state.
 */
export function createBridgeMetrics (sources: BridgeMetricsSources, options: { defaultMetrics?: boolean } = {}): BridgeMetrics {
  const registry = new Registry()
  const registers = [registry]
  let current: Promise<BridgeStats> | undefined
  // one /stats read per scrape, shared by every metric
  const stats = async (): Promise<BridgeStats> => {
    current ??= sources.stats().finally(() => { setImmediate(() => { current = undefined }) })
    return await current
  }
  const counter = (name: string, help: string, read: (s: BridgeStats) => number): void => {
    // eslint-disable-next-line no-new
    new Counter({
      name, help, registers,
      async collect () {
        const value = read(await stats())
        this.reset()
        if (value > 0) this.inc(value)
      }
    })
  }
  const gauge = (name: string, help: string, read: (s: BridgeStats) => number): void => {
    // eslint-disable-next-line no-new
    new Gauge({ name, help, registers, async collect () { this.set(read(await stats())) } })
  }
  counter('pipbingo_bridge_bytes_from_peers_total', 'Verified bytes received from other peers', s => s.bytes_from_peers)
  counter('pipbingo_bridge_bytes_from_origin_total', 'Verified bytes received from the origin (libp2p and HTTP)', s => s.bytes_from_origin)
  counter('pipbingo_bridge_bytes_from_http_total', 'Verified bytes received from the origin over HTTP', s => s.bytes_from_http)
  counter('pipbingo_bridge_bytes_uploaded_total', 'Bytes of chunks sent to other peers', s => s.bytes_uploaded)
  counter('pipbingo_bridge_damaged_chunks_total', 'Chunks of complete files found not matching their manifest in the cache (not served, fetched again)', s => s.damaged_chunks)
  gauge('pipbingo_bridge_peers_connected', 'Peers with an open libp2p connection', s => s.connected_peers)
  gauge('pipbingo_bridge_relay_connected', '1 when connected to the relay', s => s.relay_connected ? 1 : 0)
  gauge('pipbingo_bridge_cache_files', 'Complete files in the cache', s => s.cache_files)
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'pipbingo_bridge_downloads',
    help: 'Downloads by state',
    labelNames: ['state'],
    registers,
    collect () {
      for (const state of DOWNLOAD_STATES) this.set({ state }, sources.downloads(state))
    }
  })
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  return { registry, contentType: registry.contentType, text: async () => await registry.metrics() }
}
