import type { Logger } from '@libp2p/interface'
import { chunkCount, type ContentId, type Manifest } from '../content/manifest'
import type { ChunkProtocol } from '../protocols/chunk'
import type { ContentLocator, Provider } from '../routing/types'
import type { ChunkStore } from '../store/types'
import { delay, type AbortOptions } from '../util/abort'
import type { Announcer } from './announcer'
import { Bitfield } from './bitfield'
import { SessionStoppedError, SupersededError } from './errors'
import type { HttpChunkSource } from './http-source'
import { pick } from './picker'
import { HttpSourceState, PeerSource, type SourceState } from './sources'
import { TransferStats } from './stats'

export interface SwarmSessionInit {
  contentId: ContentId
  manifest: Manifest
  store: ChunkStore
  log: Logger
  /** To ask peers for chunks; without it, only HTTP is used. */
  chunks?: ChunkProtocol
  /** To find peers that hold the content. */
  locator?: ContentLocator
  /** The origin's HTTP fallback. */
  http?: HttpChunkSource
  /** Told when this peer holds (part of) the content. */
  announcer?: Announcer
  /** The node's stats: this session's bytes are added there too. */
  parentStats?: TransferStats
  /** This node's own peer id, never used as a source. */
  selfId?: string
  /** Bytes ahead of the read position that are critical (4 MiB). */
  criticalWindowBytes?: number
  /**
   * Let the origin fetch the chunks a reader is blocked on (`waitForChunk`)
   * when no peer can take them now: true for a player (latency first), false
   * (the default) for a download (offload first).
   */
  urgentOrigin?: boolean
  /** Requests in flight per peer. */
  peerSlots?: number
  httpSlots?: number
  /** A peer with requests in flight that sends no byte for this long is stalled (2 s). */
  stallMs?: number
  /** A stalled or busy peer rests this long. */
  restMs?: number
  discoveryIntervalMs?: number
  havePollMs?: number
  now?: () => number
}

const MAX_STALLS = 3
/** How long blocked reads wait for the first discovery round before going to the origin. */
const URGENT_GRACE_MS = 400
const RETRY_CONNECT_MS = 500
const NONE: ReadonlySet<number> = new Set()
/** 16 × 256 KiB = 4 MiB in flight per peer: enough to cover the round trip on a fast link. */
const DEFAULT_PEER_SLOTS = 16
const PEERS_FIRST_MS = 1000

export interface ChunkEvent { index: number, source: string, bytes: number }

/**
 * Fetches one content from the swarm into the store: finds peers through
 * the locator, asks them what they hold, and keeps every source busy with
 * what the picker chooses. Every chunk goes through ChunkStore.putChunk,
 * which verifies it; a peer that sends a bad chunk is banned for this
 * content and the chunk is fetched elsewhere. A peer that stalls (no byte
 * for `stallMs`) loses its requests to others; one that vanishes loses
 * them at once.
 *
 * Events: `chunk` (CustomEvent<ChunkEvent>), `peer` (the source list
 * changed), `complete`.
 */
export class SwarmSession extends EventTarget {
  readonly contentId: ContentId
  readonly manifest: Manifest
  readonly stats: TransferStats
  readonly done: Promise<void>
  have: Bitfield
  position = 0

  private readonly init: SwarmSessionInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly peers = new Map<string, PeerSource>()
  private readonly banned = new Set<string>()
  private readonly http?: HttpSourceState
  private readonly inFlight = new Set<number>()
  private readonly waiters = new Map<number, Array<{ resolve(): void, reject(err: Error): void }>>()
  private readonly controller = new AbortController()
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private resolveDone!: () => void
  private rejectDone!: (err: Error) => void
  private pumping = false
  private startedAt = 0
  /** The origin waits for the first discovery round, so peers get asked first. */
  private originAllowed: boolean
  private started = false

  constructor (init: SwarmSessionInit) {
    super()
    this.init = init
    this.contentId = init.contentId
    this.manifest = init.manifest
    this.log = init.log
    this.now = init.now ?? Date.now
    this.stats = new TransferStats(init.parentStats)
    this.have = new Bitfield(chunkCount(init.manifest))
    this.originAllowed = init.locator == null || init.chunks == null
    if (init.http != null) this.http = new HttpSourceState(init.httpSlots ?? 4, this.now, 10_000, init.manifest.chunkSize)
    this.done = new Promise<void>((resolve, reject) => { this.resolveDone = resolve; this.rejectDone = reject })
    this.done.catch(() => {}) // a stopped session is not an unhandled error
  }

  get complete (): boolean {
    return this.have.isComplete()
  }

  get stopped (): boolean {
    return this.controller.signal.aborted
  }

  /** Sources currently known, for stats and UIs. */
  sources (): Array<{ id: string, kind: string, inFlight: number, chunks: number, banned: boolean }> {
    const out = [...this.peers.values()].map(p => ({ id: p.id, kind: p.kind, inFlight: p.inFlight.size, chunks: p.have?.count() ?? 0, banned: p.banned }))
    if (this.http != null) out.push({ id: 'http', kind: 'http', inFlight: this.http.inFlight.size, chunks: this.have.length, banned: false })
    return out
  }

  /** Chunks being fetched right now. */
  inFlightChunks (): number[] {
    return [...this.inFlight]
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.init.store.putManifest(this.manifest)
    this.have = (await this.init.store.have(this.contentId)) ?? this.have
    if (this.have.count() > 0) this.init.announcer?.set(this.contentId, this.complete)
    if (this.complete) {
      this.finish()
      return
    }
    this.startedAt = this.now()
    const every = (ms: number, fn: () => void): void => { this.timers.push(setInterval(fn, ms)) }
    every(Math.max(50, Math.min(250, (this.init.stallMs ?? 2000) / 4)), () => this.tick())
    if (this.init.locator != null && this.init.chunks != null) {
      every(this.init.discoveryIntervalMs ?? 3000, () => { void this.discover() })
      void this.discover()
    }
    this.pump()
  }

  /** Move the critical window to a byte offset (a seek, or a reader waiting there). */
  seek (byteOffset: number): void {
    const position = Math.max(0, Math.min(this.have.length - 1, Math.floor(byteOffset / this.manifest.chunkSize)))
    if (position === this.position) return
    const windowChunks = Math.ceil((this.init.criticalWindowBytes ?? 4 * 1024 * 1024) / this.manifest.chunkSize)
    const wasNear = position >= this.position && position < this.position + windowChunks
    this.position = position
    if (!wasNear) {
      // a jump: what is in flight outside the new window only delays it
      const keep = (i: number): boolean => this.waiters.has(i) || (i >= position && i < position + windowChunks)
      for (const p of this.peers.values()) p.abortUnless(keep, new SupersededError())
      this.http?.abortUnless(keep, new SupersededError())
    }
    this.pump()
  }

  /** Resolves when chunk `index` is held; moves the critical window there if it is not near. */
  async waitForChunk (index: number, options?: AbortOptions): Promise<void> {
    if (this.have.has(index)) return
    if (this.stopped) throw new SessionStoppedError()
    const windowChunks = Math.ceil((this.init.criticalWindowBytes ?? 4 * 1024 * 1024) / this.manifest.chunkSize)
    if (index < this.position || index >= this.position + windowChunks) this.seek(index * this.manifest.chunkSize)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(options?.signal?.reason)
      options?.signal?.addEventListener('abort', onAbort, { once: true })
      const list = this.waiters.get(index) ?? []
      list.push({
        resolve: () => { options?.signal?.removeEventListener('abort', onAbort); resolve() },
        reject: (err) => { options?.signal?.removeEventListener('abort', onAbort); reject(err) }
      })
      this.waiters.set(index, list)
    })
  }

  stop (): void {
    if (this.stopped) return
    const err = new SessionStoppedError()
    this.controller.abort(err)
    this.timers.forEach(t => clearInterval(t))
    for (const p of this.peers.values()) p.abortAll(err)
    this.http?.abortAll(err)
    for (const list of this.waiters.values()) list.forEach(w => w.reject(err))
    this.waiters.clear()
    if (!this.complete) this.rejectDone(err)
  }

  private finish (): void {
    this.timers.forEach(t => clearInterval(t))
    this.timers.length = 0
    for (const p of this.peers.values()) p.abortAll(new SessionStoppedError('The content is complete'))
    this.init.announcer?.set(this.contentId, true)
    this.log('content %s complete: %d bytes from peers, %d over HTTP', this.contentId, this.stats.bytesFromPeers, this.stats.bytesFromHttp)
    this.dispatchEvent(new Event('complete'))
    this.resolveDone()
  }

  private async discover (): Promise<void> {
    if (this.complete || this.stopped) return
    let providers: Provider[] = []
    try {
      providers = await this.init.locator!.findProviders(this.contentId, { signal: this.controller.signal })
    } catch (err: any) {
      this.log('finding peers for %s failed: %s', this.contentId, err?.message)
    }
    const connecting: Array<Promise<void>> = []
    const origins: PeerSource[] = []
    for (const p of providers) {
      const id = p.id.toString()
      if (id === this.init.selfId || this.banned.has(id)) continue
      let peer = this.peers.get(id)
      if (peer == null) {
        peer = new PeerSource(p.id, p.multiaddrs, p.origin, this.init.peerSlots ?? DEFAULT_PEER_SLOTS, this.now, 10_000, this.manifest.chunkSize)
        this.peers.set(id, peer)
      } else {
        peer.addrs = p.multiaddrs
      }
      if (peer.usable() || peer.connecting) continue
      if (peer.kind === 'origin') origins.push(peer)
      else connecting.push(this.connect(peer))
    }
    // peers first: the origin is asked only once they have said what they hold
    // (or failed to, within a second), so a fast origin does not take what a
    // peer would have carried
    if (connecting.length > 0) await Promise.race([Promise.allSettled(connecting), delay(PEERS_FIRST_MS, { signal: this.controller.signal }).catch(() => {})])
    await Promise.allSettled(origins.map(async o => { await this.connect(o) }))
    if (!this.originAllowed) {
      this.originAllowed = true
      this.pump()
    }
  }

  private async connect (peer: PeerSource): Promise<void> {
    peer.connecting = true
    try {
      // a direct dial (WebRTC) can fail once and work the next time: a peer
      // gets a second try at once, so the "peers first" window is not lost to
      // one failed upgrade
      const attempts = peer.kind === 'peer' ? 2 : 1
      for (let attempt = 1; ; attempt++) {
        try {
          peer.channel = await this.init.chunks!.channel(peer.peerId, { addrs: peer.addrs, signal: this.controller.signal })
          break
        } catch (err) {
          if (attempt >= attempts || this.stopped) throw err
          await delay(RETRY_CONNECT_MS / 2, { signal: this.controller.signal })
        }
      }
      peer.channel.addEventListener('close', () => this.dropPeer(peer, false), { once: true })
      await this.pollHave(peer)
      this.dispatchEvent(new Event('peer'))
    } catch (err: any) {
      this.log('cannot reach %s for %s: %s', peer.id, this.contentId, err?.message)
      this.peers.delete(peer.id)
      // and look again soon, not in 3 s
      if (!this.stopped && !this.complete) this.timers.push(setTimeout(() => { void this.discover() }, RETRY_CONNECT_MS))
    } finally {
      peer.connecting = false
    }
  }

  private async pollHave (peer: PeerSource): Promise<void> {
    if (peer.channel == null || peer.polling) return
    peer.polling = true
    peer.lastPoll = this.now()
    try {
      const bytes = await peer.channel.have(this.contentId, { signal: this.controller.signal })
      if (bytes == null) return
      peer.have = new Bitfield(this.have.length, bytes)
      this.pump()
    } catch (err: any) {
      if (err?.name === 'ProtocolViolationError' || err?.name === 'RangeError') this.ban(peer, err.message)
    } finally {
      peer.polling = false
    }
  }

  private dropPeer (peer: PeerSource, ban: boolean): void {
    if (ban) this.banned.add(peer.id)
    if (this.peers.get(peer.id) !== peer) return
    this.peers.delete(peer.id)
    peer.abortAll(new SessionStoppedError('The peer left'))
    this.dispatchEvent(new Event('peer'))
    this.pump()
  }

  private ban (peer: PeerSource, why: string): void {
    this.log('dropping peer %s for %s: %s', peer.id, this.contentId, why)
    peer.banned = true
    this.dropPeer(peer, true)
  }

  private tick (): void {
    const now = this.now()
    const stallMs = this.init.stallMs ?? 2000
    for (const peer of this.peers.values()) {
      if (peer.inFlight.size > 0 && peer.channel != null) {
        const oldest = Math.min(...[...peer.inFlight.values()].map(f => f.started))
        if (now - oldest > stallMs && now - peer.channel.lastActivity > stallMs) {
          peer.stalls++
          this.log('peer %s stalled on %s (%d times): its requests go elsewhere', peer.id, this.contentId, peer.stalls)
          peer.abortAll(new Error('stalled'))
          // rest longer each time; a peer that keeps stalling is dropped for this content
          if (peer.stalls >= MAX_STALLS) this.ban(peer, 'it keeps stalling')
          else peer.pausedUntil = now + (this.init.restMs ?? 5000) * 2 ** (peer.stalls - 1)
        }
      }
      if (peer.have != null && !peer.have.isComplete() && now - peer.lastPoll > (this.init.havePollMs ?? 1000)) void this.pollHave(peer)
    }
    this.pump()
  }

  /** Hand free slots their next chunks, once per microtask however many events asked for it. */
  private pump (): void {
    if (this.pumping || this.stopped || this.complete || !this.started) return
    this.pumping = true
    queueMicrotask(() => {
      this.pumping = false
      this.pumpNow()
    })
  }

  private pumpNow (): void {
    if (this.stopped || this.complete) return
    const sources: SourceState[] = [...this.peers.values()]
    if (this.http != null) sources.push(this.http)
    const byId = new Map(sources.map(s => [s.id, s]))
    const assignments = pick({
      chunkCount: this.have.length,
      have: i => this.have.has(i),
      inFlight: this.inFlight,
      position: this.position,
      criticalWindow: Math.ceil((this.init.criticalWindowBytes ?? 4 * 1024 * 1024) / this.manifest.chunkSize),
      sources: sources.map(s => s.view()),
      // blocked reads may go to the origin at once — after a short grace at
      // start, in which the first discovery round may find a peer for them
      urgent: (this.init.urgentOrigin ?? false) && (this.originAllowed || this.now() - this.startedAt >= URGENT_GRACE_MS) ? new Set(this.waiters.keys()) : NONE,
      originAllowed: this.originAllowed
    })
    for (const { index, source } of assignments) this.fetch(index, byId.get(source)!)
  }

  private fetch (index: number, source: SourceState): void {
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, this.controller.signal])
    source.inFlight.set(index, { controller, started: this.now() })
    this.inFlight.add(index)
    const request = source instanceof PeerSource
      ? source.channel!.getChunk(this.contentId, index, { signal })
      : this.init.http!.getChunk(this.manifest, index, { signal })
    request
      .then(async data => { await this.accept(index, data, source) })
      .catch((err: any) => { this.failed(index, source, err) })
      .finally(() => {
        source.inFlight.delete(index)
        this.inFlight.delete(index)
        this.pump()
      })
  }

  private async accept (index: number, data: Uint8Array, source: SourceState): Promise<void> {
    if (this.have.has(index) || this.stopped) return
    try {
      await this.init.store.putChunk(this.contentId, index, data)
    } catch (err: any) {
      if (err?.name === 'ChunkHashMismatchError' || err?.name === 'ChunkIndexOutOfRangeError') this.stats.discarded(data.byteLength)
      throw err
    }
    this.have.set(index)
    this.stats.received(source, data.byteLength)
    source.rate.add(data.byteLength)
    this.log.trace('chunk %d of %s from %s', index, this.contentId, source.id)
    this.dispatchEvent(new CustomEvent<ChunkEvent>('chunk', { detail: { index, source: source.id, bytes: data.byteLength } }))
    this.waiters.get(index)?.forEach(w => w.resolve())
    this.waiters.delete(index)
    if (this.complete) this.finish()
    else this.init.announcer?.set(this.contentId, false)
  }

  private failed (index: number, source: SourceState, err: any): void {
    if (this.stopped) return
    const name: string = err?.name ?? ''
    if (name === 'SupersededError') return
    this.log('chunk %d of %s from %s failed: %s', index, this.contentId, source.id, err?.message ?? err)
    source.failed.add(index)
    if (!(source instanceof PeerSource)) {
      source.pausedUntil = this.now() + 1000
      return
    }
    if (name === 'ChunkHashMismatchError' || name === 'ProtocolViolationError') this.ban(source, name)
    else if (name === 'PeerBusyError') source.pausedUntil = this.now() + 500
    else if (name === 'ChunkUnavailableError') source.have?.clear(index)
    else if (name === 'ChannelClosedError') this.dropPeer(source, false)
  }
}
