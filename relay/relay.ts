import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ComponentLogger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TrackerRegistry } from '@core/protocols/tracker'
import { Catalogue } from './catalogue'
import type { RelayConfig } from './config'
import { CatalogueEvents, createHttpApp } from './http/index'
import { loadOrCreateIdentity } from '../node-bridge/identity'
import { Library, type CatalogueEntry } from './library/index'
import { createRelayMetrics, type RelayMetrics } from './metrics'
import { HolderChecks } from './holders'
import { iceServersInfo } from './ice-servers'
import { createRelayNode, type RelayNode } from './node'
import { createHolderCheck, PublishedCatalogue } from './published/index'

export interface Relay {
  readonly config: RelayConfig
  readonly node: RelayNode
  readonly library: Library
  /** Videos published from browsers (only peers hold their bytes). */
  readonly published: PublishedCatalogue
  /** What `/list` and `/events` show: the library and the published videos, with peer counts. */
  readonly catalogue: Catalogue
  readonly registry: TrackerRegistry
  readonly metrics: RelayMetrics
  /** Bind the HTTP server and the libp2p listeners, announce the library. */
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` once started. */
  httpUrl(): string
  /** The libp2p addresses, each ending in /p2p/<relay id>. */
  multiaddrs(): Multiaddr[]
}

export interface CreateRelayOptions {
  logger?: ComponentLogger
  /** Progress of the library scan (hashing new files), for the console. */
  onScanProgress?: Parameters<typeof Library.open>[0]['onProgress']
  /** Problems the operator should see that do not stop the relay (a malformed file in the data folder). */
  onWarning?(message: string): void
  /** The clock of the tracker and of the published videos' grace period (tests). */
  now?: () => number
  /** How often expired tracker entries and published videos are looked for; default 2 s. */
  sweepIntervalMs?: number
}

/**
 * The central server, assembled but not listening: the library (origin seed),
 * the videos published from browsers, the catalogue joining both with the
 * tracker's counts, the libp2p node (relay, tracker, chunk protocol), the
 * HTTP app and the metrics. `start()` binds; main.ts owns signals and the console.
 */
export async function createRelay (config: RelayConfig, options: CreateRelayOptions = {}): Promise<Relay> {
  const logger = options.logger ?? defaultLogger()
  const log = logger.forComponent('pipbingo:relay')
  const library = await Library.open({ dir: config.libraryDir, logger, onProgress: options.onScanProgress })
  const registry = new TrackerRegistry({ ttlMs: config.trackerTtlMs, now: options.now })
  const published = await PublishedCatalogue.open({
    dataDir: config.dataDir,
    graceMs: config.publishedGraceMs,
    maxEntries: config.maxPublished,
    maxManifestBytes: config.maxPublishedBytes,
    now: options.now,
    logger,
    onWarning: options.onWarning
  }).catch(async (err: unknown) => {
    await library.close()
    throw err
  })
  let holders: HolderChecks | undefined
  const catalogue = new Catalogue({
    library,
    published,
    registry,
    logger,
    sweepIntervalMs: options.sweepIntervalMs,
    onListed: contentId => { holders?.listed(contentId) }
  })
  const events = new CatalogueEvents({ catalogue })
  let node!: RelayNode
  const metrics = createRelayMetrics({
    peersConnected: () => node.getPeers().length,
    reservations: () => node.services.relay.reservations.size,
    trackerEntries: () => registry.size(),
    libraryVideos: () => library.size,
    publishedVideos: () => published.size
  })
  node = await createRelayNode({
    privateKey: await loadOrCreateIdentity(config.dataDir),
    host: config.host,
    tcpPort: config.tcpPort,
    wsPort: config.wsPort,
    maxReservations: config.maxReservations,
    inboundPerHost: config.inboundPerHost,
    maxConnectionsPerPeer: config.maxConnectionsPerPeer,
    store: library.store,
    registry,
    onUpload: e => { metrics.addLibp2pBytesServed(e.bytes) },
    onAnnounce: (peer, entries) => { holders?.announced(peer, entries) }
  })
  // /list counts a holder once it said what it holds (holders.ts)
  holders = new HolderChecks({
    chunk: node.services.chunk,
    registry,
    chunks: contentId => catalogue.entry(contentId)?.chunks,
    log: logger.forComponent('pipbingo:relay:holders')
  })
  const multiaddrs = (): Multiaddr[] => node.getMultiaddrs()
  const app = createHttpApp({
    library,
    catalogue,
    events,
    metrics,
    webRoot: config.webRoot,
    maxUploadBytes: config.maxUploadBytes,
    publish: {
      checkHolder: createHolderCheck({ getConnections: peer => node.getConnections(peer), logger }),
      limits: {
        requestsPerMinutePerAddress: config.publishRequestsPerMinute,
        publishesPerDayPerAddress: config.publishesPerAddressPerDay,
        publishesPerDayPerPeer: config.publishesPerPeerPerDay
      },
      now: options.now
    },
    uploadLimits: {
      allowOrigins: config.allowOrigins,
      quota: { concurrent: config.uploadsAtOnce, perHour: config.uploadsPerHour, bytesPerHour: config.uploadBytesPerHour, bytesPerDay: config.uploadBytesPerDay },
      maxLibraryBytes: config.maxLibraryBytes
    },
    logger: msg => log(msg),
    // ICE servers with TURN credentials made for this answer (ice-servers.ts)
    relayInfo: () => ({ peerId: node.peerId.toString(), multiaddrs: multiaddrs().map(String), ...iceServersInfo(config, options.now?.()) })
  })
  const server: Server = createServer(app)
  // uploads of large files may take longer than Node's 5-minute default
  server.requestTimeout = 60 * 60_000

  const announce = (entries: CatalogueEntry[]): void => {
    registry.announce(node.peerId.toString(), multiaddrs().map(String),
      entries.map(e => ({ contentId: e.contentId, complete: true })), { origin: true, pinned: true })
  }
  const offAdded = library.on('added', entry => { announce([entry]) })
  // a video whose last file left library/: the origin no longer holds it
  const offRemoved = library.on('removed', contentId => { registry.withdraw(node.peerId.toString(), [contentId]) })
  const unsubscribe = (): void => { offAdded(); offRemoved() }

  const httpUrl = (): string => {
    const address = server.address() as AddressInfo | null
    if (address == null) throw new Error('The relay is not started')
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${host}:${address.port}`
  }

  return {
    config,
    node,
    library,
    published,
    catalogue,
    registry,
    metrics,
    async start () {
      await node.start()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.httpPort, config.host, () => { server.off('error', reject); resolve() })
      })
      announce(library.entries())
      catalogue.start()
      // files copied into library/, changed or removed while the relay runs
      library.watch()
      log('relay %p up: %d videos, %d published from browsers, HTTP %s', node.peerId, library.size, published.size, httpUrl())
    },
    async stop () {
      unsubscribe()
      holders?.stop()
      events.close()
      catalogue.stop()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await node.stop()
      await published.close()
      await library.close()
    },
    httpUrl,
    multiaddrs
  }
}
