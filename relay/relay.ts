import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { ComponentLogger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { TrackerRegistry } from '@core/protocols/tracker'
import { DhtLocator } from '@core/routing/dht'
import { BoundedDhtDatastore, type ProviderRecordLimits } from '@core/routing/provider-limits'
import { Announcer } from '@core/swarm/announcer'
import { Catalogue } from './catalogue'
import type { RelayConfig } from './config'
import { CatalogueEvents, createHttpApp } from './http/index'
import { loadOrCreateIdentity } from '../node-bridge/identity'
import { Library, type CatalogueEntry } from './library/index'
import { createRelayMetrics, type RelayMetrics } from './metrics'
import { HolderChecks } from './holders'
import { iceServersInfo } from './ice-servers'
import { createRelayNode, type RelayNode } from './node'
import { allowListOf, librarySource, parsePeerRelay, PeerRelayLinks, RemoteCatalogues } from './peers/index'
import { SlidingWindowLimit } from './published/limits'
import { createHolderCheck, PublishedCatalogue } from './published/index'
import { isWebSocketsAddr, publicAddressFilter } from './public-address'
import { CertificateReloader, type LoadedCertificate } from './tls/index'
import { useNodeSha256 } from '../node-bridge/sha256'

export interface Relay {
  readonly config: RelayConfig
  readonly node: RelayNode
  readonly library: Library
  /** Videos published from browsers (only peers hold their bytes). */
  readonly published: PublishedCatalogue
  /** What `/list` and `/events` show: the library and the published videos, with peer counts. */
  readonly catalogue: Catalogue
  readonly registry: TrackerRegistry
  /** The links to the configured peer relays (`--peer-relay`). */
  readonly peerRelays: PeerRelayLinks
  /** The peer relays' library videos, as this relay lists them. */
  readonly remote: RemoteCatalogues
  readonly metrics: RelayMetrics
  /** Bind the HTTP server and the libp2p listeners, announce the library. */
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` (`https://` with a certificate) once started. */
  httpUrl(): string
  /** Where people open the app: `--public-url`, else `httpUrl()`. */
  publicUrl(): string
  /** Load the certificate files again (SIGHUP); a pair that fails keeps the old one (onWarning). No-op without TLS. */
  reloadCertificate(reason: string): Promise<void>
  /** The certificate in use; undefined without TLS. */
  certificate(): LoadedCertificate | undefined
  /** The libp2p addresses, each ending in /p2p/<relay id>. */
  multiaddrs(): Multiaddr[]
}

export interface CreateRelayOptions {
  logger?: ComponentLogger
  /** Progress of the library scan (hashing new files), for the console. */
  onScanProgress?: Parameters<typeof Library.open>[0]['onProgress']
  /** Problems the operator should see that do not stop the relay (a malformed file in the data folder). */
  onWarning?(message: string): void
  /** A new TLS certificate is in use (the files changed, or reloadCertificate). */
  onCertificate?(certificate: LoadedCertificate, reason: string): void
  /** The clock of the tracker and of the published videos' grace period (tests). */
  now?: () => number
  /** How often expired tracker entries and published videos are looked for; default 2 s. */
  sweepIntervalMs?: number
  /** The DHT's provider record lifetime (tests shorten it to see a relay's records expire). */
  dhtProviderTtlMs?: number
  /** The DHT's bounds on provider records (tests lower them). */
  dhtRecordLimits?: ProviderRecordLimits
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
  useNodeSha256()
  // first, so that a bad certificate stops the relay before anything is opened
  const tls = config.tlsCert != null && config.tlsKey != null
    ? await CertificateReloader.open({ certFile: config.tlsCert, keyFile: config.tlsKey }, { onReloaded: options.onCertificate, onWarning: options.onWarning })
    : undefined
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
  let node!: RelayNode
  let links: PeerRelayLinks | undefined
  const relays = config.peerRelays.map(parsePeerRelay)
  const remote = new RemoteCatalogues({
    relays: relays.map(r => r.id),
    connection: peer => links?.connection(peer),
    pollIntervalMs: config.peerRelayPollMs,
    graceMs: config.peerRelayGraceMs,
    log: logger.forComponent('pipbingo:relay:peers')
  })
  const catalogue = new Catalogue({
    library,
    published,
    registry,
    remote,
    onWarning: options.onWarning,
    logger,
    sweepIntervalMs: options.sweepIntervalMs,
    onListed: contentId => { holders?.listed(contentId) }
  })
  const events = new CatalogueEvents({ catalogue })
  // another relay may ask for the library at will; anyone else, at this rate
  const catalogueAsks = new SlidingWindowLimit(config.catalogueRequestsPerMinute, 60_000)
  const privateKey = await loadOrCreateIdentity(config.dataDir)
  // the DHT's provider records, bounded per peer and in all (provider-limits.ts)
  const dhtRecords = new BoundedDhtDatastore(peerIdFromPrivateKey(privateKey).toString(), options.dhtRecordLimits)
  const metrics = createRelayMetrics({
    peersConnected: () => node.getPeers().length,
    reservations: () => node.services.relay.reservations.size,
    trackerEntries: () => registry.size(),
    libraryVideos: () => library.size,
    publishedVideos: () => published.size,
    dhtPeers: () => node.services.dht.routingTable.size,
    dhtProviderRecords: () => dhtRecords.providerRecords,
    peerRelayVideos: () => remote.entries().length,
    peerRelayManifests: () => remote.manifestsHeld()
  })
  node = await createRelayNode({
    privateKey,
    datastore: dhtRecords,
    host: config.host,
    tcpPort: config.tcpPort,
    wsPort: config.wsPort,
    tls: tls?.current,
    announce: config.announce,
    announceFilter: config.publicUrl != null && config.announce.length === 0
      ? publicAddressFilter({ publicUrl: config.publicUrl, relayServesTls: tls != null })
      : undefined,
    maxReservations: config.maxReservations,
    inboundPerHost: config.inboundPerHost,
    maxConnectionsPerPeer: config.maxConnectionsPerPeer,
    store: library.store,
    registry,
    dhtProviderTtlMs: options.dhtProviderTtlMs,
    onUpload: e => { metrics.addLibp2pBytesServed(e.bytes) },
    onSuperSeed: decision => { metrics.addSuperSeedDecision(decision) },
    onAnnounce: (peer, entries) => { holders?.announced(peer, entries) },
    catalogue: {
      source: librarySource(library),
      admit: peer => {
        if (links?.has(peer) === true) return true
        if (catalogueAsks.wait(peer.toString()) > 0) return false
        catalogueAsks.record(peer.toString())
        return true
      }
    },
    isPeerRelay: peer => relays.some(r => r.id.equals(peer)),
    allow: allowListOf(relays)
  })
  // the same configuration deployed on every relay names each one itself too: not a peer
  if (relays.some(r => r.id.equals(node.peerId))) options.onWarning?.(`--peer-relay names this relay itself (${node.peerId.toString()}): left out`)
  links = new PeerRelayLinks({
    relays: relays.filter(r => !r.id.equals(node.peerId)),
    dial: async (addr, opts) => await node.dial(addr, opts),
    getConnections: peer => node.getConnections(peer),
    peerStore: node.peerStore,
    events: node,
    redial: { minMs: Math.min(1000, config.peerRelayRedialMaxMs), maxMs: config.peerRelayRedialMaxMs },
    log: logger.forComponent('pipbingo:relay:peers'),
    onWarning: options.onWarning
  })
  const offLinks = links.on(e => {
    if (e.type === 'up') remote.up(e.peer)
    else if (e.type === 'down') remote.down(e.peer)
  })
  // /list counts a holder once it said what it holds (holders.ts)
  holders = new HolderChecks({
    chunk: node.services.chunk,
    registry,
    chunks: contentId => catalogue.entry(contentId)?.chunks,
    log: logger.forComponent('pipbingo:relay:holders')
  })
  const multiaddrs = (): Multiaddr[] => node.getMultiaddrs()
  // the library is provided on the DHT, so the clients of other relays find this relay as its origin
  const dhtLog = logger.forComponent('pipbingo:relay:dht')
  const provider = new Announcer({
    locator: new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: multiaddrs, log: dhtLog }),
    log: dhtLog
  })
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
      // the public URL's pages are the app's own
      allowOrigins: config.publicUrl != null ? [...config.allowOrigins, config.publicUrl] : config.allowOrigins,
      quota: { concurrent: config.uploadsAtOnce, perHour: config.uploadsPerHour, bytesPerHour: config.uploadBytesPerHour, bytesPerDay: config.uploadBytesPerDay },
      maxLibraryBytes: config.maxLibraryBytes
    },
    logger: msg => log(msg),
    // ICE servers with TURN credentials made for this answer (ice-servers.ts)
    relayInfo: () => ({
      peerId: node.peerId.toString(),
      multiaddrs: multiaddrs().map(String),
      ...(config.publicUrl != null ? { publicUrl: config.publicUrl } : {}),
      ...iceServersInfo(config, options.now?.())
    })
  })
  const httpsServer = tls != null ? createHttpsServer({ cert: tls.current.cert, key: tls.current.key }, app) : undefined
  const server: Server = httpsServer ?? createServer(app)
  // a renewed pair: new handshakes on both ports get it, open connections keep theirs
  tls?.use(pair => {
    httpsServer?.setSecureContext({ cert: pair.cert, key: pair.key })
    node.services.wssCertificate.renew(pair)
  })
  // uploads of large files may take longer than Node's 5-minute default
  server.requestTimeout = 60 * 60_000

  const announce = (entries: CatalogueEntry[]): void => {
    registry.announce(node.peerId.toString(), multiaddrs().map(String),
      entries.map(e => ({ contentId: e.contentId, complete: true })), { origin: true, pinned: true })
    for (const e of entries) provider.set(e.contentId, true)
  }
  const offAdded = library.on('added', entry => { announce([entry]) })
  // a video whose last file left library/: the origin no longer holds it
  const offRemoved = library.on('removed', contentId => {
    registry.withdraw(node.peerId.toString(), [contentId])
    provider.remove(contentId)
  })
  const unsubscribe = (): void => { offAdded(); offRemoved(); offLinks() }

  const httpUrl = (): string => {
    const address = server.address() as AddressInfo | null
    if (address == null) throw new Error('The relay is not started')
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `${tls != null ? 'https' : 'http'}://${host}:${address.port}`
  }

  return {
    config,
    node,
    library,
    published,
    catalogue,
    registry,
    peerRelays: links,
    remote,
    metrics,
    async start () {
      await node.start()
      provider.start()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.httpPort, config.host, () => { server.off('error', reject); resolve() })
      })
      announce(library.entries())
      catalogue.start()
      // files copied into library/, changed or removed while the relay runs
      library.watch()
      tls?.watch()
      if (config.announce.length > 0 && !config.announce.some(a => /\/tcp\//.test(a) && !isWebSocketsAddr(multiaddr(a)))) {
        options.onWarning?.('No plain TCP address is announced (--announce): bridges find the relay\'s address in /info and dial TCP; announce it too (e.g. /dns4/<host>/tcp/10000)')
      }
      await links?.start()
      log('relay %p up: %d videos, %d published from browsers, HTTP %s', node.peerId, library.size, published.size, httpUrl())
    },
    async stop () {
      tls?.close()
      unsubscribe()
      provider.stop()
      links?.stop()
      remote.stop()
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
    publicUrl: () => config.publicUrl ?? httpUrl(),
    async reloadCertificate (reason) { await tls?.reload(reason) },
    certificate: () => tls?.current,
    multiaddrs
  }
}
