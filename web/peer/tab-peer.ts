import { defaultLogger } from '@libp2p/logger'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseManifest, verifyManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { Announcer } from '@core/swarm/announcer'
import { HttpChunkSource } from '@core/swarm/http-source'
import { SwarmSession, type ChunkEvent } from '@core/swarm/session'
import { TransferStats } from '@core/swarm/stats'
import { UploadLimiter } from '@core/swarm/upload-limiter'
import { delay } from '@core/util/abort'
import { loadOrCreateIdentity } from './identity'
import { createTabNode, type TabNode } from './node'
import { acquireProfile, type Profile } from './profile'
import { fetchRelayAddr } from './relay-info'
import { IdbChunkStore } from './store/index'
import { idbName, TAB_CHUNK_TIMEOUT_MS, type SwReply, type SwRequest } from './sw-protocol'
import { describeStats, type ChunkOrigin, type TabStats } from './tab-stats'

export interface TabPeerInit {
  /** The relay's HTTP origin (the page's own origin when served by the relay). */
  origin: string
  iceServers?: RTCIceServer[]
  /** Bytes per second this tab may upload; Infinity for no limit. */
  uploadLimit?: number
}

interface Watched {
  session: SwarmSession
  /** How each held chunk arrived, for the chunk map. */
  origins: ChunkOrigin[]
}

/**
 * One tab = one peer: a profile (Web Lock), its identity and IndexedDB
 * store, a libp2p node connected to the relay, a swarm session per watched
 * content, and the answers to the service worker's requests. Every chunk it
 * holds it serves to others (within the upload limit) while the tab is open.
 */
interface Parts {
  profile: Profile
  store: IdbChunkStore
  node: TabNode
  relay: Multiaddr
  announcer: Announcer
  stats: TransferStats
  limiter: UploadLimiter
  /** Contents being watched: never evicted from the store. */
  pinned: Set<ContentId>
}

export class TabPeer extends EventTarget {
  readonly profile: Profile
  readonly store: IdbChunkStore
  readonly node: TabNode
  readonly relay: Multiaddr
  readonly announcer: Announcer
  readonly stats: TransferStats
  readonly limiter: UploadLimiter
  private readonly pinned: Set<ContentId>
  private readonly watched = new Map<ContentId, Watched>()
  private readonly log: Logger
  private stopped = false
  current?: ContentId

  private constructor (readonly init: TabPeerInit, parts: Parts) {
    super()
    this.profile = parts.profile
    this.store = parts.store
    this.node = parts.node
    this.relay = parts.relay
    this.announcer = parts.announcer
    this.stats = parts.stats
    this.limiter = parts.limiter
    this.pinned = parts.pinned
    this.log = defaultLogger().forComponent('pipbingo:tab')
  }

  static async start (init: TabPeerInit): Promise<TabPeer> {
    const profile = await acquireProfile()
    const pinned = new Set<ContentId>()
    const store = await IdbChunkStore.open({ name: idbName(profile.name), pinned: () => pinned })
    void IdbChunkStore.persist()
    const relay = await fetchRelayAddr(init.origin)
    const stats = new TransferStats()
    const limiter = new UploadLimiter(init.uploadLimit ?? Infinity)
    const node = await createTabNode({
      privateKey: await loadOrCreateIdentity(profile.name),
      relay,
      store,
      iceServers: init.iceServers,
      canUpload: () => limiter.allow(),
      beforeUpload: async (bytes, options) => { await limiter.take(bytes, options) },
      onUpload: e => { stats.uploaded(e.bytes) }
    })
    const announcer = new Announcer({ locator: node.services.tracker, log: defaultLogger().forComponent('pipbingo:tab:announce') })
    const peer = new TabPeer(init, { profile, store, node, relay, announcer, stats, limiter, pinned })
    await peer.startNode()
    return peer
  }

  private async startNode (): Promise<void> {
    await this.node.start()
    this.node.addEventListener('peer:disconnect', (evt) => { void this.onDisconnect(evt.detail) })
    // announcements carry our addresses: renew them when the reservation arrives
    this.node.addEventListener('self:peer:update', () => { this.announcer.refresh() })
    await this.connectRelay()
    this.announcer.start()
    for (const contentId of await this.store.listContents()) {
      const have = await this.store.have(contentId)
      if (have != null && have.count() > 0) this.announcer.set(contentId, have.isComplete())
    }
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
    const response = await fetch(`${this.init.origin}/manifest/${contentId}`, { signal: AbortSignal.timeout(10_000) })
    if (!response.ok) throw new Error(`The relay has no manifest for ${contentId} (${response.status})`)
    const body = await response.json() as { manifest: unknown }
    const manifest = parseManifest(body.manifest)
    await verifyManifest(manifest, contentId)
    await this.store.putManifest(manifest)
    return manifest
  }

  /** Start (or return) the swarm session of a content: it fetches while it lives. */
  async watch (contentId: ContentId): Promise<SwarmSession> {
    const existing = this.watched.get(contentId)
    if (existing != null) return existing.session
    const manifest = await this.manifest(contentId)
    const session = new SwarmSession({
      contentId,
      manifest,
      store: this.store,
      log: defaultLogger().forComponent('pipbingo:tab:swarm'),
      chunks: this.node.services.chunk,
      locator: this.node.services.tracker,
      http: new HttpChunkSource({ baseUrl: this.init.origin, filename: manifest.name }),
      announcer: this.announcer,
      parentStats: this.stats,
      selfId: this.node.peerId.toString(),
      urgentOrigin: true
    })
    const watched: Watched = { session, origins: [] }
    this.watched.set(contentId, watched)
    this.pinned.add(contentId)
    session.addEventListener('chunk', (e) => {
      const { index, source } = (e as CustomEvent<ChunkEvent>).detail
      const kind = source === 'http' ? 'http' : session.sources().find(s => s.id === source)?.kind === 'origin' ? 'origin' : 'peer'
      watched.origins[index] = kind
      this.dispatchEvent(new Event('progress'))
    })
    await session.start()
    for (const i of session.have.indices()) watched.origins[i] ??= 'cache'
    this.current = contentId
    await this.store.touch(contentId)
    return session
  }

  /** The playhead moved: move the critical window there. */
  seek (contentId: ContentId, byteOffset: number): void {
    this.watched.get(contentId)?.session.seek(byteOffset)
  }

  /** Answer the service worker: a manifest or a chunk at top priority. */
  async answer (request: SwRequest): Promise<SwReply> {
    if (request.profile !== this.profile.name) return { ok: false, status: 421, error: `This tab holds profile ${this.profile.name}, not ${request.profile}` }
    try {
      if (request.type === 'manifest') {
        await this.manifest(request.contentId)
        return { ok: true }
      }
      const session = await this.watch(request.contentId)
      await session.waitForChunk(request.index, { signal: AbortSignal.timeout(TAB_CHUNK_TIMEOUT_MS) })
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
    await this.store.close()
    this.profile.release()
  }
}
