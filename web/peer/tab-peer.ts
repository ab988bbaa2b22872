import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseManifest, verifyManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { CombinedLocator } from '@core/routing/combined'
import { DhtLocator } from '@core/routing/dht'
import { Announcer } from '@core/swarm/announcer'
import { HttpChunkSource } from '@core/swarm/http-source'
import { DialStats } from '@core/swarm/dial-stats'
import { SwarmSession, type ChunkEvent, type OriginWhy } from '@core/swarm/session'
import { TransferStats } from '@core/swarm/stats'
import { UploadLimiter } from '@core/swarm/upload-limiter'
import { delay } from '@core/util/abort'
import { RelayIceServers } from '@core/ice/ice-servers'
import { loadOrCreateIdentity } from './identity'
import { createTabNode, type TabNode } from './node'
import { cleanName, PeerBook, tabUserAgent } from './peer-book'
import type { FrameTap } from '@core/protocols/chat'
import { openChatDb } from './chat/chat-db'
import { TabChat } from './chat/tab-chat'
import { TabChatKeys } from './chat/tab-keys'
import { acquireProfile, type Profile } from './profile'
import { fetchRelayIce, fetchRelayInfo } from './relay-info'
import { IdbChunkStore } from './store/index'
import { idbName, TAB_CHUNK_TIMEOUT_MS, type SwReply, type SwRequest } from './sw-protocol'
import { storeFile, type StoreFileOptions } from './store-file'
import { describeStats, type ChunkOrigin, type TabStats } from './tab-stats'

/** The name this tab's chat announces: its display name, else `peer-` and the end of its peer id (as a bridge's). */
function chatName (displayName: string | undefined, peerId: string): string {
  const name = cleanName(displayName ?? '')
  return name === '' ? `peer-${peerId.slice(-8)}` : name
}

/** The version tabs announce in their identify user agent. */
const TAB_VERSION = '0.1.0'

export interface TabPeerInit {
  /** The relay's HTTP origin (the page's own origin when served by the relay). */
  origin: string
  /** ICE servers of the tab's own, used before the relay's (`/info`). */
  iceServers?: RTCIceServer[]
  /** Bytes per second this tab may upload; Infinity for no limit. */
  uploadLimit?: number
  /** The profile this tab holds (default: the first free one). */
  profile?: Profile
  /** False: origin only — no chunk from peers, none served, nothing announced. */
  p2p?: boolean
  /** The name other peers see (through identify). */
  displayName?: string
  /** Most bytes of chunks the cache holds (default DEFAULT_CAP_BYTES). */
  capBytes?: number
  /** Sees every chat frame as it crosses a stream (diagnostics: `window.pipbingo.chat.frames()`). */
  chatTap?: FrameTap
}

interface Watched {
  session: SwarmSession
  /** How each held chunk arrived, for the chunk map. */
  origins: ChunkOrigin[]
  /** Chunks from the origin (libp2p or HTTP) by why they were asked of it. */
  originWhy: Partial<Record<OriginWhy, number>>
}

interface Parts {
  profile: Profile
  store: IdbChunkStore
  node: TabNode
  relay: Multiaddr
  /** The relay's tracker and the relays' DHT together. */
  locator: CombinedLocator
  announcer: Announcer
  stats: TransferStats
  limiter: UploadLimiter
  book: PeerBook
  /** Contents being watched: never evicted from the store. */
  pinned: Set<ContentId>
  chat: TabChat
}

/**
 * One tab = one peer: a profile (Web Lock), its identity and IndexedDB
 * store, a libp2p node connected to the relay, a swarm session per watched
 * content, and the answers to the service worker's requests. Every chunk it
 * holds it serves to others (within the upload limit) while the tab is open.
 *
 * Events: `progress` (a chunk arrived, P2P switched), `relay` (its state
 * changed), `cache` (a content was stored, evicted or removed).
 */
export class TabPeer extends EventTarget {
  readonly profile: Profile
  readonly store: IdbChunkStore
  readonly node: TabNode
  readonly relay: Multiaddr
  private readonly locator: CombinedLocator
  readonly announcer: Announcer
  readonly stats: TransferStats
  readonly limiter: UploadLimiter
  readonly book: PeerBook
  /** Every attempt to reach a peer directly, for the stats and the Network page. */
  readonly dials = new DialStats()
  private readonly pinned: Set<ContentId>
  /** Direct messages with other tabs and bridges (web/peer/chat/). */
  readonly chat: TabChat
  private readonly watched = new Map<ContentId, Watched>()
  /** Where the origin serves a content over HTTP (`/videos/…`), null when only peers hold it. */
  private readonly originUrls = new Map<ContentId, string | null>()
  private readonly log: Logger
  private stopped = false
  private p2pOn: boolean
  private uploadLimit: number
  current?: ContentId

  private constructor (readonly init: TabPeerInit, parts: Parts) {
    super()
    this.profile = parts.profile
    this.store = parts.store
    this.node = parts.node
    this.relay = parts.relay
    this.locator = parts.locator
    this.announcer = parts.announcer
    this.stats = parts.stats
    this.limiter = parts.limiter
    this.book = parts.book
    this.pinned = parts.pinned
    this.chat = parts.chat
    this.log = defaultLogger().forComponent('pipbingo:tab')
    this.p2pOn = init.p2p ?? true
    this.uploadLimit = init.uploadLimit ?? Infinity
  }

  static async start (init: TabPeerInit): Promise<TabPeer> {
    const profile = init.profile ?? await acquireProfile()
    const pinned = new Set<ContentId>()
    let peer: TabPeer | undefined
    const store = await IdbChunkStore.open({
      name: idbName(profile.name),
      pinned: () => pinned,
      capBytes: init.capBytes,
      onEvicted: contentId => { peer?.forgetContent(contentId) }
    })
    void IdbChunkStore.persist()
    const fetchedAt = Date.now()
    const { relay, ice } = await fetchRelayInfo(init.origin)
    // the relay's STUN/TURN servers, asked again before their credentials expire
    const iceServers = new RelayIceServers({
      fetch: async options => await fetchRelayIce(init.origin, options),
      own: init.iceServers,
      initial: { ice, at: fetchedAt },
      log: defaultLogger().forComponent('pipbingo:tab:ice')
    })
    const privateKey = await loadOrCreateIdentity(profile.name)
    const chatDb = await openChatDb(profile.name)
    const selfId = peerIdFromPrivateKey(privateKey).toString()
    const chat = new TabChat(chatDb, await TabChatKeys.open(chatDb, selfId, () => { chat.dispatchEvent(new Event('contacts')) }),
      () => chatName(init.displayName, selfId), defaultLogger().forComponent('pipbingo:tab:chat'), init.chatTap)
    await chat.recover()
    const stats = new TransferStats()
    const book = new PeerBook()
    const limiter = new UploadLimiter(init.p2p === false ? 0 : init.uploadLimit ?? Infinity)
    const node = await createTabNode({
      privateKey,
      userAgent: tabUserAgent(TAB_VERSION, init.displayName ?? ''),
      relay,
      store,
      rtcConfiguration: async () => await iceServers.rtcConfiguration(),
      canUpload: () => limiter.allow(),
      beforeUpload: async (bytes, options) => { await limiter.take(bytes, options) },
      onUpload: e => { stats.uploaded(e.bytes); book.uploaded(e) },
      chat: chat.protocolInit()
    })
    chat.attach(node)
    const dhtLog = defaultLogger().forComponent('pipbingo:tab:dht')
    const locator = new CombinedLocator({
      tracker: node.services.tracker,
      dht: new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: dhtLog }),
      trackerAt: addrs => node.services.tracker.at(addrs),
      selfId: node.peerId.toString(),
      onBackgroundError: err => { dhtLog('an announcement to the DHT or to another relay failed (tried again at the next renewal): %s', err.message) }
    })
    const announcer = new Announcer({ locator, log: defaultLogger().forComponent('pipbingo:tab:announce') })
    peer = new TabPeer(init, { profile, store, node, relay, locator, announcer, stats, limiter, book, pinned, chat })
    await peer.startNode()
    return peer
  }

  private async startNode (): Promise<void> {
    await this.node.start()
    this.node.addEventListener('peer:disconnect', (evt) => { void this.onDisconnect(evt.detail) })
    // announcements carry our addresses: renew them when the reservation arrives
    this.node.addEventListener('self:peer:update', () => { this.announcer.refresh() })
    this.node.addEventListener('peer:identify', (evt) => { this.book.identified(evt.detail.peerId.toString(), evt.detail.agentVersion) })
    await this.connectRelay()
    if (this.p2pOn) await this.announceStore()
  }

  /** Tell the tracker about everything the store holds. */
  private async announceStore (): Promise<void> {
    this.announcer.start()
    // the chat's name, as the bridges register theirs: other peers find this tab by it
    this.announcer.set(await this.chat.nameKey() as ContentId, true)
    for (const contentId of await this.store.listContents()) {
      const have = await this.store.have(contentId)
      if (have != null && have.count() > 0) this.announcer.set(contentId, have.isComplete())
    }
  }

  get p2p (): boolean {
    return this.p2pOn
  }

  /**
   * P2P off: nothing is served (the chunk server answers BUSY), nothing is
   * announced, connections to peers are closed, and the contents being
   * watched continue from the origin alone. On: the opposite.
   */
  async setP2P (on: boolean): Promise<void> {
    if (on === this.p2pOn) return
    this.p2pOn = on
    this.limiter.setLimit(on ? this.uploadLimit : 0)
    // sessions restart on the next request of the player, with or without peers
    for (const [contentId, { session }] of this.watched) {
      session.stop()
      this.watched.delete(contentId)
    }
    if (on) {
      await this.announceStore()
    } else {
      this.announcer.stop()
      const held = await this.store.listContents()
      for (const contentId of held) this.announcer.remove(contentId)
      const relayId = this.relayId()
      await Promise.allSettled(this.node.getConnections()
        .filter(c => c.remotePeer.toString() !== relayId)
        .map(async c => { await c.close() }))
    }
    this.dispatchEvent(new Event('progress'))
  }

  /** Bytes per second this tab uploads at most (Infinity: no limit); P2P off keeps it at 0. */
  setUploadLimit (bytesPerSecond: number): void {
    this.uploadLimit = bytesPerSecond
    if (this.p2pOn) this.limiter.setLimit(bytesPerSecond)
  }

  private async connectRelay (): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.node.dial(this.relay, { signal: AbortSignal.timeout(10_000) })
        this.dispatchEvent(new Event('relay'))
        return
      } catch (err: any) {
        const wait = Math.min(30_000, 500 * 2 ** attempt)
        this.log('relay unreachable (%s), retrying in %d ms', err?.message, wait)
        this.dispatchEvent(new Event('relay'))
        await delay(wait)
      }
    }
  }

  private async onDisconnect (peer: PeerId): Promise<void> {
    if (this.stopped || peer.toString() !== this.relayId()) return
    this.log('lost the relay: reconnecting')
    this.dispatchEvent(new Event('relay'))
    await this.connectRelay()
    this.announcer.refresh()
  }

  /** The other peers holding `contentId`, to chat with (the relay left out). */
  async viewers (contentId: ContentId): Promise<Array<{ peerId: string, name?: string }>> {
    return await this.chat.viewers(contentId, [this.relayId()], { signal: AbortSignal.timeout(10_000) })
  }

  relayId (): string {
    return this.relay.getComponents().find(c => c.name === 'p2p')?.value ?? ''
  }

  relayConnected (): boolean {
    return this.node.getConnections().some(c => c.remotePeer.toString() === this.relayId() && c.status === 'open')
  }

  /** The manifest of a content, from the store or (verified) from the relay. */
  async manifest (contentId: ContentId): Promise<Manifest> {
    const known = await this.store.getManifest(contentId)
    if (known != null) return known
    const manifest = await this.fetchManifest(contentId)
    if (manifest == null) throw new Error('The relay does not know this video (it may have been removed)')
    await this.store.putManifest(manifest)
    return manifest
  }

  /** The relay's `/manifest/:id`, verified; it also says whether the origin holds the bytes. */
  private async fetchManifest (contentId: ContentId): Promise<Manifest | undefined> {
    const response = await fetch(`${this.init.origin}/manifest/${contentId}`, { signal: AbortSignal.timeout(10_000), cache: 'no-cache' })
    if (response.status === 404) return undefined
    if (!response.ok) throw new Error(`The relay could not give the video's description (${response.status})`)
    const body = await response.json() as { manifest: unknown, url?: unknown, relay?: unknown }
    const manifest = parseManifest(body.manifest)
    await verifyManifest(manifest, contentId)
    this.originUrls.set(contentId, typeof body.url === 'string' && body.url.startsWith('/videos/') ? body.url : null)
    // another relay of the network seeds it: the DHT names that relay, its origin
    if (typeof body.relay === 'string') this.locator.originOf(contentId, body.relay)
    return manifest
  }

  /** The origin's HTTP source for a content, if the relay holds its bytes. */
  private async httpSource (contentId: ContentId): Promise<HttpChunkSource | undefined> {
    if (!this.originUrls.has(contentId)) await this.fetchManifest(contentId).catch(() => undefined)
    const url = this.originUrls.get(contentId)
    if (url == null) return undefined
    return new HttpChunkSource({ baseUrl: this.init.origin, filename: decodeURIComponent(url.slice('/videos/'.length)) })
  }

  /** Start (or return) the swarm session of a content: it fetches while it lives. */
  async watch (contentId: ContentId): Promise<SwarmSession> {
    const existing = this.watched.get(contentId)
    if (existing != null) return existing.session
    const manifest = await this.manifest(contentId)
    const http = await this.httpSource(contentId)
    const again = this.watched.get(contentId) // watched meanwhile
    if (again != null) return again.session
    const p2p = this.p2pOn
    const session = new SwarmSession({
      contentId,
      manifest,
      store: this.store,
      log: defaultLogger().forComponent('pipbingo:tab:swarm'),
      chunks: p2p ? this.node.services.chunk : undefined,
      locator: p2p ? this.locator : undefined,
      http,
      announcer: p2p ? this.announcer : undefined,
      parentStats: this.stats,
      dials: this.dials,
      selfId: this.node.peerId.toString(),
      urgentOrigin: true
    })
    const watched: Watched = { session, origins: [], originWhy: {} }
    this.watched.set(contentId, watched)
    this.pinned.add(contentId)
    session.addEventListener('chunk', (e) => {
      const { index, source, originWhy } = (e as CustomEvent<ChunkEvent>).detail
      const kind = source === 'http' ? 'http' : session.sources().find(s => s.id === source)?.kind === 'origin' ? 'origin' : 'peer'
      watched.origins[index] = kind
      if (originWhy != null) watched.originWhy[originWhy] = (watched.originWhy[originWhy] ?? 0) + 1
      this.dispatchEvent(new Event('progress'))
    })
    await session.start()
    for (const i of session.have.indices()) watched.origins[i] ??= 'cache'
    await this.store.touch(contentId)
    return session
  }

  /** Open a content in the player: it becomes the current one (the overlay's). */
  async play (contentId: ContentId): Promise<SwarmSession> {
    const session = await this.watch(contentId)
    this.current = contentId
    return session
  }

  /**
   * Stop fetching a content nobody shows any more (a poster taken, a video
   * left): what it holds stays in the cache and is still served.
   */
  release (contentId: ContentId): void {
    const w = this.watched.get(contentId)
    if (w == null || contentId === this.current) return
    w.session.stop()
    this.watched.delete(contentId)
    this.pinned.delete(contentId)
  }

  /** Remove a content from this tab's cache: it is no longer served nor announced. */
  async remove (contentId: ContentId): Promise<void> {
    if (this.current === contentId) this.current = undefined
    this.watched.get(contentId)?.session.stop()
    this.watched.delete(contentId)
    this.pinned.delete(contentId)
    await this.store.deleteContent(contentId)
    this.forgetContent(contentId)
  }

  /** A content left the store (removed or evicted). */
  private forgetContent (contentId: ContentId): void {
    this.announcer.remove(contentId)
    this.book.forget(contentId)
    this.dispatchEvent(new Event('cache'))
  }

  /**
   * Seed a local file: its chunks go into the store (verified against the
   * manifest hashed beforehand), it is kept out of eviction, and announced.
   */
  async publish (manifest: Manifest, contentId: ContentId, file: Blob, options: StoreFileOptions = {}): Promise<void> {
    await verifyManifest(manifest, contentId)
    this.pinned.add(contentId) // not evicted while its chunks go in
    try {
      await this.store.putManifest(manifest, options)
      await this.store.setKeep(contentId, true, options)
      await storeFile(this.store, contentId, manifest, file, options)
    } finally {
      if (!this.watched.has(contentId)) this.pinned.delete(contentId)
    }
    if (this.p2pOn) this.announcer.set(contentId, true)
    this.dispatchEvent(new Event('cache'))
  }

  /**
   * The playhead moved: the critical window follows it, and what is at risk
   * (may go to the origin) is measured from it, with the video's bitrate.
   */
  seek (contentId: ContentId, byteOffset: number, bytesPerSecond?: number): void {
    this.watched.get(contentId)?.session.setPlayhead(byteOffset, bytesPerSecond)
  }

  /** Answer the service worker: a manifest or a chunk at top priority. */
  async answer (request: SwRequest): Promise<SwReply> {
    if (request.profile !== this.profile.name) return { ok: false, status: 421, error: `This tab holds profile ${this.profile.name}, not ${request.profile}` }
    try {
      if (request.type === 'manifest') {
        await this.manifest(request.contentId)
        return { ok: true }
      }
      const signal = AbortSignal.timeout(TAB_CHUNK_TIMEOUT_MS)
      try {
        await (await this.watch(request.contentId)).waitForChunk(request.index, { signal })
      } catch (err: any) {
        // the session was stopped under the player (P2P switched, video removed): once more with a new one
        if (err?.name !== 'SessionStoppedError' || this.stopped) throw err
        await (await this.watch(request.contentId)).waitForChunk(request.index, { signal })
      }
      return { ok: true }
    } catch (err: any) {
      return { ok: false, status: err?.name === 'TimeoutError' ? 504 : 502, error: String(err?.message ?? err) }
    }
  }

  /** The testing surface that is also a feature: `window.pipbingo.stats()`. */
  snapshot (): TabStats {
    return describeStats(this, this.watched)
  }

  async stop (): Promise<void> {
    this.stopped = true
    for (const w of this.watched.values()) w.session.stop()
    this.announcer.stop()
    await this.node.stop()
    this.chat.close()
    await this.store.close()
    this.profile.release()
  }
}
