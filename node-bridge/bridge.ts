import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { ComponentLogger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { FrameTap } from '@core/protocols/chat'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { CombinedLocator } from '@core/routing/combined'
import { DhtLocator } from '@core/routing/dht'
import { Announcer } from '@core/swarm/announcer'
import { HttpChunkSource } from '@core/swarm/http-source'
import { SwarmSession } from '@core/swarm/session'
import { TransferStats } from '@core/swarm/stats'
import { delay, type AbortOptions } from '@core/util/abort'
import type { BridgeConfig } from './config'
import type { JobSource } from './downloads/job'
import { DownloadManager } from './downloads/manager'
import { loadOrCreateIdentity } from './identity'
import { createChatStack, defaultName } from './chat/stack'
import { toBase64 } from './crypto/base64'
import type { ChatService } from './chat/service'
import type { ContactStore } from './contacts/store'
import { EventHub } from './ipc/hub'
import type { IpcLimits } from './ipc/limits'
import { createIpcStack, type IpcStack } from './ipc/stack'
import { describeIpcStatus } from './ipc/status'
import { createBridgeMetrics, type BridgeMetrics } from './metrics'
import { createBridgeNode, type BridgeNode } from './node'
import { RelayHttp } from './relay-http'
import { RelayLink } from './relay-link'
import { createRestApp } from './rest/app'
import { appOrigins } from './rest/guards'
import { loadOrCreateApiToken } from './rest/token'
import { describeStats, type BridgeStats } from './stats'
import { FsChunkStore, type DamageEvent, type ScanProgress } from './store/index'
import { nameKey, trackerNameLookup } from '@core/routing/names'
import { RelayIceServers } from '@core/ice/ice-servers'
import { useNodeSha256 } from './sha256'

export interface Bridge {
  readonly config: BridgeConfig
  readonly node: BridgeNode
  readonly store: FsChunkStore
  readonly manager: DownloadManager
  readonly relayLink: RelayLink
  readonly relayHttp: RelayHttp
  /** The ICE servers of its WebRTC connections: `--ice-servers`, then the relay's (`/info`, kept fresh). */
  readonly ice: RelayIceServers
  /** Tells the tracker what the cache holds (`settled()` waits for announcements under way). */
  readonly announcer: Announcer
  /** `registered` (detail: the name) once the relay's tracker has taken this bridge's name, after each connection to the relay: others can find it from then on. */
  readonly nameRegistered: EventTarget
  /** Chunks of complete files found damaged in the cache since start (not served, fetched again). */
  readonly damagedChunks: () => number
  /** Bytes from peers, from the origin, uploaded: the whole daemon's. */
  readonly transfer: TransferStats
  readonly metrics: BridgeMetrics
  /** Start the node, dial the relay (one attempt; retries go on in the background), list the cache, bind the API. */
  start(): Promise<{ seeding: number, resuming: number }>
  stop(): Promise<void>
  /** `http://host:port` of the REST API once started. */
  apiUrl(): string
  stats(): Promise<BridgeStats>
  /** Chat, contacts and the IPC (docs/contracts/ipc-8889.md; see ipc/README.md). */
  readonly chat: ChatService
  readonly contacts: ContactStore
  readonly events: EventHub
  readonly ipc: IpcStack
  /** The display name announced to chat peers. */
  readonly name: string
  /** Where the IPC listens once started (TCP, and its WebSocket); throws the bind error when its port was taken. */
  ipcAddress(): { host: string, port: number, wsPort: number }
}

export interface CreateBridgeOptions {
  logger?: ComponentLogger
  /** Progress of the cache scan (hashing files dropped there by hand), for the console. */
  onScanProgress?(event: ScanProgress): void
  /** Sees every chat frame as it crosses the wire (tests: what a capture above Noise would show). */
  chatTap?: FrameTap
  ipcLimits?: Partial<IpcLimits>
  /** A complete file of the cache found damaged and made a download again (for the console). */
  onDamaged?(event: DamageEvent): void
  /** Verify chunks read back from the cache (default true; false only for the bench's baseline). */
  verifyReads?: boolean
}

/** Attempts at a manifest while the relay's HTTP side does not answer, before the download fails. */
const MANIFEST_ATTEMPTS = 5

/**
 * The daemon, assembled but not listening: the cache (FsChunkStore over
 * `cacheDir`), the libp2p node, the link to the relay, the download manager
 * and the REST app. `start()` binds; main.ts owns the console and signals.
 */
export async function createBridge (config: BridgeConfig, options: CreateBridgeOptions = {}): Promise<Bridge> {
  const logger = options.logger ?? defaultLogger()
  useNodeSha256()
  // damage found while the store opens is counted and told; its re-fetch is the resumed partial the manager lists
  const damage = { chunks: 0, refetch: async (_contentId: string): Promise<void> => {} }
  const store = await FsChunkStore.open({
    dir: config.cacheDir,
    scan: true,
    logger,
    onProgress: options.onScanProgress,
    repair: true,
    verifyReads: options.verifyReads,
    onDamaged: async e => {
      damage.chunks += e.lost.length
      options.onDamaged?.(e)
      await damage.refetch(e.contentId)
    }
  })
  try {
    return await assemble(config, store, logger, options, damage)
  } catch (err) {
    await store.close()
    throw err
  }
}

interface Damage {
  chunks: number
  /** Fetch a damaged content again (the download manager, once it exists). */
  refetch(contentId: string): Promise<void>
}

async function assemble (config: BridgeConfig, store: FsChunkStore, logger: ComponentLogger, options: CreateBridgeOptions, damage: Damage): Promise<Bridge> {
  const log = logger.forComponent('pipbingo:bridge')
  const transfer = new TransferStats()
  const privateKey = await loadOrCreateIdentity(config.dataDir)
  const apiToken = await loadOrCreateApiToken(config.dataDir)
  const allowedOrigins = appOrigins(config.relayHttp, config.allowOrigins)

  // chat and IPC (issue 6): the protocol's parts exist before the node, the service after
  const events = new EventHub()
  const selfPeer = peerIdFromPrivateKey(privateKey)
  const name = config.name ?? defaultName(selfPeer)
  const chatStack = await createChatStack({
    self: selfPeer,
    dataDir: config.dataDir,
    receiveDir: config.receiveDir ?? join(config.dataDir, 'received'),
    sendDirs: config.sendDirs ?? [join(config.dataDir, 'outbox')],
    name,
    publish: notice => { events.publish(notice) },
    logger,
    tap: options.chatTap
  })

  const relayHttp = new RelayHttp(config.relayHttp)
  // --ice-servers, then the relay's (`/info`), asked again before their TURN credentials expire
  const iceServers = new RelayIceServers({
    fetch: async opts => await relayHttp.ice(opts),
    own: config.iceServers,
    log: logger.forComponent('pipbingo:bridge:ice')
  })
  const node = await createBridgeNode({
    privateKey,
    host: config.host,
    p2pPort: config.p2pPort,
    wsPort: config.wsPort,
    iceServers: async () => (await iceServers.rtcConfiguration()).iceServers ?? [],
    store,
    onUpload: e => { transfer.uploaded(e.bytes) },
    chat: chatStack.protocolInit
  })
  const selfId = node.peerId.toString()
  // who holds what: the relay's tracker, and the DHT for the contents of other relays (routing/combined.ts)
  const dhtLog = logger.forComponent('pipbingo:bridge:dht')
  const locator = new CombinedLocator({
    tracker: node.services.tracker,
    dht: new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: dhtLog }),
    trackerAt: addrs => node.services.tracker.at(addrs),
    selfId: node.peerId.toString(),
    onBackgroundError: err => { dhtLog('an announcement to the DHT or to another relay failed (tried again at the next renewal): %s', err.message) }
  })
  // names: this bridge registers its own with the relay's tracker, and looks others up there (routing/names.ts)
  const chat = chatStack.attach(node, trackerNameLookup(node))
  // the name is registered once the relay's tracker took it: said once per connection to the relay (nameRegistered)
  const ownNameKey = await nameKey(name)
  let nameSaid = false
  const nameRegistered = new EventTarget()
  const announcer = new Announcer({
    locator,
    log: logger.forComponent('pipbingo:bridge:announce'),
    onAnnounced: entries => {
      if (nameSaid || !entries.some(e => e.contentId === ownNameKey)) return
      nameSaid = true
      nameRegistered.dispatchEvent(new CustomEvent('registered', { detail: name }))
    }
  })
  announcer.set(ownNameKey, true)
  const relayLink = new RelayLink({
    node,
    log: logger.forComponent('pipbingo:bridge:relay'),
    resolve: async (opts: AbortOptions): Promise<Multiaddr> => config.relay != null
      ? multiaddr(config.relay)
      : await relayHttp.tcpAddr(opts),
    onConnected: addr => {
      node.services.tracker.setRelay(addr)
      nameSaid = false
      announcer.refresh()
    }
  })

  const source: JobSource = {
    async manifest (contentId, opts) {
      const known = await store.getManifest(contentId)
      if (known != null) return known
      for (let attempt = 1; ; attempt++) {
        try {
          return await relayHttp.manifest(contentId, opts)
        } catch (err: any) {
          if (err?.name !== 'RelayHttpError' || attempt >= MANIFEST_ATTEMPTS) throw err
          await delay(500 * 2 ** attempt, opts)
        }
      }
    },
    async entry (contentId, opts) {
      const listed = (await relayHttp.list(opts)).find(e => e.contentId === contentId)
      // another relay of the network seeds it: the DHT names that relay, its origin
      if (listed?.relay != null) locator.originOf(contentId, listed.relay)
      return listed
    },
    session: ({ contentId, manifest, remoteName, originHttp }) => new SwarmSession({
      contentId,
      manifest,
      store,
      log: logger.forComponent('pipbingo:bridge:swarm'),
      chunks: node.services.chunk,
      locator,
      // the relay's HTTP copy, when it has one (not for a video only peers or another relay hold)
      http: originHttp ? new HttpChunkSource({ baseUrl: config.relayHttp, filename: remoteName }) : undefined,
      announcer,
      parentStats: transfer,
      selfId,
      urgentOrigin: false
    })
  }
  const manager = new DownloadManager({
    store,
    source,
    lookup: async (filename, opts) => {
      const entry = await relayHttp.entry(filename, opts)
      // another relay of the network seeds it: the DHT names that relay, its origin
      if (entry.relay != null) locator.originOf(entry.contentId, entry.relay)
      return entry
    },
    // a peer other than this one, or the relay's library (listed there as the origin)
    findSource: async (contentId, opts) => {
      const others = (await locator.findProviders(contentId, opts)).filter(p => !p.id.equals(node.peerId))
      return others.some(p => p.complete || p.origin) ? 'complete' : others.length > 0 ? 'partial' : 'none'
    },
    sourceWaitMs: config.sourceWaitSeconds * 1000,
    announcer,
    maxConcurrent: config.maxConcurrentDownloads,
    log: logger.forComponent('pipbingo:bridge:downloads')
  })
  damage.refetch = async contentId => { await manager.refetch(contentId) }

  const stats = async (): Promise<BridgeStats> => await describeStats({
    peerId: selfId,
    connectedPeers: () => node.getPeers().length,
    relay: () => ({ connected: relayLink.connected, addr: relayLink.addr?.toString() ?? null }),
    listenAddrs: () => node.getMultiaddrs().map(String),
    transfer,
    manager,
    store,
    damagedChunks: () => damage.chunks
  })
  const metrics = createBridgeMetrics({ stats, downloads: state => manager.count(state) })
  const app = createRestApp({
    manager,
    store,
    stats,
    catalogue: async () => await relayHttp.list(),
    metrics,
    listenHost: config.apiHost,
    allowedOrigins,
    token: apiToken,
    lang: config.lang,
    log: msg => { log.error(msg) }
  })
  const server: Server = createServer(app)
  const onAddressChange = (): void => { announcer.refresh() }

  let startedAt = Date.now()
  // the node's KEM public key, in base64 once: `status` is the IPC's most frequent request
  const publicKeyBase64 = toBase64(chatStack.identity.publicKey)
  let ipcBound: { host: string, port: number, wsPort: number } | undefined
  let ipcError: Error | undefined
  const ipc = createIpcStack({
    chat,
    contacts: chatStack.contacts,
    hub: events,
    logger,
    limits: options.ipcLimits,
    allowedOrigins,
    token: apiToken,
    status: async () => describeIpcStatus({
      name,
      peerId: selfId,
      startedAt,
      chat,
      directory: chatStack.directory,
      contacts: chatStack.contacts,
      connectedPeers: () => node.getPeers().length,
      relayConnected: () => relayLink.connected,
      ipcClients: () => ipc.tcp.clients + ipc.ws.clients,
      receiveDir: chatStack.receiveFolder.dir,
      sendDirs: chatStack.sendFolders.dirs,
      publicKey: publicKeyBase64
    })
  })

  const apiUrl = (): string => {
    const address = server.address() as AddressInfo | null
    if (address == null) throw new Error('The bridge is not started')
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${host}:${address.port}`
  }

  return {
    config,
    node,
    store,
    manager,
    relayLink,
    relayHttp,
    ice: iceServers,
    announcer,
    nameRegistered,
    damagedChunks: () => damage.chunks,
    transfer,
    metrics,
    chat,
    contacts: chatStack.contacts,
    events,
    ipc,
    name,
    ipcAddress () {
      if (ipcBound == null) throw ipcError ?? new Error('The bridge is not started')
      return ipcBound
    },
    async start () {
      startedAt = Date.now()
      await node.start()
      // announce again when our addresses change (a reservation arrives): a relay that predates issue 16
      // reads the addresses in announcements; ours takes them from identify and the reservation
      node.addEventListener('self:peer:update', onAddressChange)
      announcer.start()
      // the relay's ICE servers before the first WebRTC connection needs them (it would ask otherwise)
      void iceServers.refresh()
      await relayLink.start()
      const listed = await manager.start()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.apiPort, config.apiHost, () => { server.off('error', reject); resolve() })
      })
      // the IPC has no authentication: loopback only, whatever apiHost says
      try {
        const bound = await ipc.listen('127.0.0.1', config.ipcPort, config.ipcWsPort ?? (config.ipcPort === 0 ? 0 : config.ipcPort + 1))
        ipcBound = { host: '127.0.0.1', port: bound.tcp.port, wsPort: bound.ws.port }
      } catch (err: any) {
        // a port in use (another daemon's IPC) costs the IPC, not the downloads: main.ts says so
        if (err?.code !== 'EADDRINUSE') throw err
        ipcError = err
        log.error('IPC not started: %s', err.message)
      }
      log('bridge %p up: API %s', node.peerId, apiUrl())
      return listed
    },
    async stop () {
      await ipc.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await manager.stop()
      await relayLink.stop()
      node.removeEventListener('self:peer:update', onAddressChange)
      announcer.stop()
      await node.stop()
      await chatStack.contacts.flush()
      await store.close()
    },
    apiUrl,
    stats
  }
}
