import type { Logger } from '@libp2p/interface'
import { chunkCount, type ContentId, type Manifest } from '../content/manifest'
import type { ChunkProtocol } from '../protocols/chunk'
import type { ContentLocator, SwarmView } from '../routing/types'
import type { ChunkStore } from '../store/types'
import type { AbortOptions } from '../util/abort'
import type { Announcer } from './announcer'
import { Bitfield } from './bitfield'
import type { DialOutcome, DialStats } from './dial-stats'
import { SessionStoppedError, SupersededError } from './errors'
import type { HttpChunkSource } from './http-source'
import { atRiskChunks, originPolicy, type OriginDecision } from './origin-policy'
import { pick } from './picker'
import { originShare } from './share'
import { HttpSourceState, OriginStandInState, PeerSource, type SourceState } from './sources'
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
  /** This node's attempts to reach peers directly are counted there. */
  dials?: DialStats
  /** This node's own peer id, never used as a source. */
  selfId?: string
  /** Bytes ahead of the read position that are critical (4 MiB). */
  criticalWindowBytes?: number
  /**
   * A player (latency first): chunks at risk — what the player is blocked on
   * before playback starts, then what is missing within `riskSeconds` ahead
   * of the playhead — may go to the origin when no peer can take them now.
   * False (the default) for a download (offload first).
   */
  urgentOrigin?: boolean
  /** How long a player waits for a direct connection to a holder before the origin serves chunks at risk (2 s). */
  startBudgetMs?: number
  /** Seconds of playback ahead of the playhead below which the buffer is at risk (4 s). */
  riskSeconds?: number
  /** Requests in flight per peer. */
  peerSlots?: number
  /** Draws the chunk from which this session walks the chunks no peer holds (see picker.ts); Math.random by default. */
  random?: () => number
  httpSlots?: number
  /** A peer with requests in flight that sends no byte for this long is stalled (2 s). */
  stallMs?: number
  /** A stalled or busy peer rests this long. */
  restMs?: number
  /** With nothing to get from connected peers this long among other downloaders, HTTP takes this session's share and grants (ISOLATED_MS). */
  isolatedMs?: number
  discoveryIntervalMs?: number
  now?: () => number
}

const MAX_STALLS = 3
/** The longest rest after a stall (the origin's, which is never dropped for stalling). */
const MAX_REST_MS = 10_000
const NONE: ReadonlySet<number> = new Set()
/** 16 × 256 KiB = 4 MiB in flight per peer: enough to cover the round trip on a fast link. */
const DEFAULT_PEER_SLOTS = 16
/**
 * A player's wait for a direct connection to a holder before the origin
 * serves what playback is blocked on. A WebRTC upgrade between two browser
 * processes took 0.15–0.7 s on a quiet 2-core machine and 1.3–3.6 s with
 * both cores busy; past the budget the origin serves the chunks at risk only,
 * and the peers take the rest once connected.
 */
export const DEFAULT_START_BUDGET_MS = 2000
export const DEFAULT_RISK_SECONDS = 4
/** The risk window when the bitrate is unknown. */
const DEFAULT_RISK_BYTES = 1024 * 1024
/** A failed direct connection is tried again after 0.5, 1, 2, 4, 8, 10, 10… s, while the peer is listed. */
const RETRY_BASE_MS = 500
const RETRY_MAX_MS = 10_000
/** A peer that refused our HAVE subscription is asked again after this long (BUSY: after a rest). */
const RESUBSCRIBE_MS = 3000
const RESUBSCRIBE_BUSY_MS = 500
/** A holder keeps the origin off chunks it may hold while it is being connected, for at most this long and this many failures. */
const PENDING_WAIT_MS = 10_000
const PENDING_MAX_FAILURES = 3
/**
 * A session among other downloaders takes only its share of what none of
 * them holds from the origin (share.ts). When it has had nothing in flight
 * at all for this long — its share is done and no peer has anything it
 * lacks — the origin may serve it a few chunks (IDLE_GRANT, drawn at
 * random) whoever's share they are: a chunk can fall between two members'
 * views of the swarm, or its owner can be slow or unreachable from here.
 */
const SHARE_IDLE_MS = 1000
/**
 * Direct connections a session makes at once; the other listed holders wait
 * their turn (seeders first: the tracker lists them first). A hundred peers
 * each dialling thirty at once starved their noise handshakes into
 * timeouts (the flash-crowd bench: 25,010 of 26,664 dials failed).
 */
const MAX_DIALS_IN_FLIGHT = 6
/** A chunk a reader has waited this long for may come from the origin, share or not (the stream must not stall behind a crowd). */
const READER_WAIT_MS = 1500
/** How many chunks outside its share an idle session may take from the origin each time. */
const IDLE_GRANT = 4
/** An origin node without a channel this long is down: HTTP takes its place. */
const ORIGIN_DOWN_MS = 10_000
/**
 * A session that no connected peer can give anything this long (no usable
 * peer, or none holding a chunk it lacks), while others download the
 * content, takes its share and grants over HTTP: the origin's node refuses
 * what it sent to members this session cannot reach (super-seed.ts).
 * Well beyond what a crowd on a loaded machine takes to connect (the
 * 100-peer bench on 2 cores: first direct connection at 11–17 s median,
 * 25–36 s at most; at 30 s the sessions that crossed it sent 4 chunks to the
 * crowd 6 times over HTTP).
 */
const ISOLATED_MS = 60_000
/**
 * The same for a session of a content with no HTTP copy and no other
 * downloader, told ELSEWHERE by the origin's node while the locator lists
 * a seeder it does not reach (no crowd to protect, so not as long); as long
 * as a holder being connected counts as pending.
 */
const LONE_ISOLATED_MS = PENDING_WAIT_MS
/** How often canTrade() scans what connected peers hold. */
const TRADE_CHECK_MS = 1000
/** About how many idle members of a swarm draw a grant each second, whatever its size (p2p-media-loader's 1/N). */
const IDLE_GRANTS_PER_SECOND = 8
/** A session that knows no other peer asks the locator again this long after it started, before the regular interval. */
const EARLY_DISCOVERY_MS = [500, 1000, 2000]

/**
 * Why the origin was asked for a chunk: a reader's deadline was at risk
 * (`at-risk`), no other member of the swarm was known or reachable
 * (`alone`), it was this session's share (`share`), or the session had
 * sat idle with nothing from peers (`idle`).
 */
export type OriginWhy = 'at-risk' | 'alone' | 'share' | 'idle'

export interface ChunkEvent {
  index: number
  source: string
  bytes: number
  /** For a chunk from the origin (its libp2p node or HTTP): why it was asked. */
  originWhy?: OriginWhy
}

/**
 * Fetches one content from the swarm into the store: finds peers through
 * the locator, subscribes to what they hold (each peer pushes the chunks
 * it stores as they land: nothing is polled), and keeps every source busy
 * with what the picker chooses. Every chunk goes through ChunkStore.putChunk,
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
  /** HTTP, or for a content with no HTTP copy the origin's node standing in for it (OriginStandInState). */
  private readonly http?: HttpSourceState | OriginStandInState
  private readonly inFlight = new Set<number>()
  private readonly waiters = new Map<number, Array<{ resolve(): void, reject(err: Error): void }>>()
  /** When a reader started waiting for each chunk in `waiters`. */
  private readonly waitingSince = new Map<number, number>()
  private readonly controller = new AbortController()
  private readonly timers: Array<ReturnType<typeof setInterval> | ReturnType<typeof setTimeout>> = []
  private resolveDone!: () => void
  private rejectDone!: (err: Error) => void
  private pumping = false
  private startedAt = 0
  /** Where this session starts on the chunks no peer holds, once other peers are in the swarm (picker.ts). */
  private readonly spreadFrom: number
  /** Who this session is among the members of the swarm (its node's peer id; a random name without one). */
  private readonly selfId: string
  /** The locator answered once (or there is none): we know who holds the content. */
  private discovered: boolean
  private started = false
  /** Chunk index of the player's playhead, once it reports one. */
  private playhead?: number
  private riskChunks: number
  /** Epoch ms of the first verified byte from another peer (not the origin). */
  firstPeerByteAt?: number
  /** Direct connections being made now (at most MAX_DIALS_IN_FLIGHT). */
  private dialing = 0
  /** Since when nothing is in flight (while the session runs). */
  private idleSince?: number
  /** Since when the origin's node has had no open channel (undefined while it has one). */
  private originDownSince?: number
  /** Since when no connected peer has had a chunk this session lacks (undefined while one has: canTrade). */
  private isolatedSince?: number
  /** canTrade's last answer, and when it was computed. */
  private tradeable = false
  private tradeCheckedAt?: number
  /** HTTP stands in for the origin's node (see pumpNow): a refusal from the node then sends the chunk to HTTP. */
  private standIn = false
  /** The origin's node has answered ELSEWHERE: a holder exists, reached or not. */
  private toldElsewhere = false
  /** Chunks outside the share the origin may serve, drawn when the session sat idle. */
  private idleGrant: ReadonlySet<number> = NONE
  /** This session's share of the origin's chunks for `members`, computed when first needed after they change. */
  private share?: Uint8Array
  /**
   * The other downloaders of the swarm (not the origin, not seeders) as the
   * locator last listed them: the shares are split among these, whether or
   * not this session reaches them (each takes its share from the origin).
   */
  private members: string[] = []
  /** How many peers download this content, this one included, as the locator last said (at least the members known). */
  private downloaders = 1

  constructor (init: SwarmSessionInit) {
    super()
    this.init = init
    this.contentId = init.contentId
    this.manifest = init.manifest
    this.log = init.log
    this.now = init.now ?? Date.now
    this.stats = new TransferStats(init.parentStats)
    this.have = new Bitfield(chunkCount(init.manifest))
    this.spreadFrom = Math.floor((init.random ?? Math.random)() * this.have.length)
    this.selfId = init.selfId ?? `session-${Math.floor((init.random ?? Math.random)() * 2 ** 48)}`
    this.discovered = init.locator == null || init.chunks == null
    this.riskChunks = Math.ceil(DEFAULT_RISK_BYTES / init.manifest.chunkSize)
    if (init.http != null) this.http = new HttpSourceState(init.httpSlots ?? 4, this.now, 10_000, init.manifest.chunkSize)
    else if (init.chunks != null) this.http = new OriginStandInState(() => this.originNode(), init.httpSlots ?? 4, this.now, 10_000, init.manifest.chunkSize)
    this.done = new Promise<void>((resolve, reject) => { this.resolveDone = resolve; this.rejectDone = reject })
    this.done.catch(() => {}) // a stopped session is not an unhandled error
  }

  /** Milliseconds from the start of fetching to the first verified byte from another peer. */
  get timeToFirstPeerByteMs (): number | undefined {
    return this.firstPeerByteAt == null ? undefined : this.firstPeerByteAt - this.startedAt
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
    if (this.http instanceof HttpSourceState) out.push({ id: 'http', kind: 'http', inFlight: this.http.inFlight.size, chunks: this.have.length, banned: false })
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
    const swarm = this.init.locator != null && this.init.chunks != null
    // in the swarm from the start, as a BitTorrent client tells its tracker
    // "started": the others of a crowd arriving together learn of this peer
    // (and connect, and agree on their shares of the origin) before it holds
    // a chunk; a peer that holds nothing answers HAVE with an empty bitfield
    // and pushes its chunks as they land
    if (swarm || this.have.count() > 0) this.init.announcer?.set(this.contentId, this.complete)
    if (this.complete) {
      this.finish()
      return
    }
    this.startedAt = this.now()
    const every = (ms: number, fn: () => void): void => { this.timers.push(setInterval(fn, ms)) }
    every(Math.max(50, Math.min(250, (this.init.stallMs ?? 2000) / 4)), () => this.tick())
    if (swarm) {
      const interval = this.init.discoveryIntervalMs ?? 3000
      every(interval, () => { void this.discover() })
      void this.discover()
      // alone at first (the others of a crowd announce as they start): look again soon
      for (const ms of EARLY_DISCOVERY_MS.filter(ms => ms < interval)) {
        const t = setTimeout(() => { if (!this.hasOtherPeers()) void this.discover() }, ms)
        this.timers.push(t)
      }
    }
    this.pump()
  }

  /** Move the critical window to a byte offset (a seek, or a reader waiting there). */
  seek (byteOffset: number): void {
    const position = this.chunkAt(byteOffset)
    if (position === this.position) return
    const windowChunks = this.windowChunks()
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

  /**
   * The player's playhead, as a byte offset (and the video's bitrate, when
   * known): the critical window follows it, and from now on what is at risk
   * is measured from it — a read the browser makes ahead of it is not.
   */
  setPlayhead (byteOffset: number, bytesPerSecond?: number): void {
    if (bytesPerSecond != null && Number.isFinite(bytesPerSecond) && bytesPerSecond > 0) {
      const seconds = this.init.riskSeconds ?? DEFAULT_RISK_SECONDS
      this.riskChunks = Math.max(1, Math.min(this.windowChunks(), Math.ceil(seconds * bytesPerSecond / this.manifest.chunkSize)))
    }
    this.playhead = this.chunkAt(byteOffset)
    this.seek(byteOffset)
    this.pump()
  }

  private chunkAt (byteOffset: number): number {
    return Math.max(0, Math.min(this.have.length - 1, Math.floor(byteOffset / this.manifest.chunkSize)))
  }

  private windowChunks (): number {
    return Math.ceil((this.init.criticalWindowBytes ?? 4 * 1024 * 1024) / this.manifest.chunkSize)
  }

  /** Resolves when chunk `index` is held; moves the critical window there if it is not near. */
  async waitForChunk (index: number, options?: AbortOptions): Promise<void> {
    if (this.have.has(index)) return
    if (this.stopped) throw new SessionStoppedError()
    // a player's playhead drives the window; without one (a reader like the bridge's /stream) the read does
    if (this.playhead == null && (index < this.position || index >= this.position + this.windowChunks())) this.seek(index * this.manifest.chunkSize)
    else this.pump()
    options?.signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(index) ?? []
      if (list.length === 0) this.waitingSince.set(index, this.now())
      const waiter = {
        resolve: () => { options?.signal?.removeEventListener('abort', onAbort); resolve() },
        reject: (err: Error) => { options?.signal?.removeEventListener('abort', onAbort); reject(err) }
      }
      // a reader that gives up no longer waits: its chunk is not blocked (nor overdue) for it
      const onAbort = (): void => {
        const i = list.indexOf(waiter)
        if (i >= 0) list.splice(i, 1)
        if (list.length === 0 && this.waiters.get(index) === list) {
          this.waiters.delete(index)
          this.waitingSince.delete(index)
        }
        reject(options?.signal?.reason)
      }
      options?.signal?.addEventListener('abort', onAbort, { once: true })
      list.push(waiter)
      this.waiters.set(index, list)
    })
  }

  /** Stop fetching; `done` rejects with `reason` (SessionStoppedError by default). */
  stop (reason?: Error): void {
    if (this.stopped) return
    const err = reason ?? new SessionStoppedError()
    this.controller.abort(err)
    this.timers.forEach(t => clearInterval(t))
    for (const p of this.peers.values()) {
      this.unsubscribe(p)
      p.abortAll(err)
    }
    this.http?.abortAll(err)
    for (const list of this.waiters.values()) list.forEach(w => w.reject(err))
    this.waiters.clear()
    // announced at start: nothing to offer after all
    if (this.started && this.have.count() === 0) this.init.announcer?.remove(this.contentId)
    if (!this.complete) this.rejectDone(err)
  }

  private finish (): void {
    this.timers.forEach(t => clearInterval(t))
    this.timers.length = 0
    for (const p of this.peers.values()) {
      this.unsubscribe(p)
      p.abortAll(new SessionStoppedError('The content is complete'))
    }
    this.init.announcer?.set(this.contentId, true)
    this.log('content %s complete: %d bytes from peers, %d over HTTP', this.contentId, this.stats.bytesFromPeers, this.stats.bytesFromHttp)
    this.dispatchEvent(new Event('complete'))
    this.resolveDone()
  }

  private async discover (): Promise<void> {
    if (this.complete || this.stopped) return
    let view: SwarmView = { providers: [] }
    let answered = false
    try {
      const locator = this.init.locator!
      const options = { signal: this.controller.signal }
      view = locator.findSwarm != null ? await locator.findSwarm(this.contentId, options) : { providers: await locator.findProviders(this.contentId, options) }
      answered = true
    } catch (err: any) {
      this.log('finding peers for %s failed: %s', this.contentId, err?.message)
    }
    if (this.stopped) return
    const listed = new Set<string>()
    // the other downloaders, among whom the origin's chunks are shared: the
    // whole list where the locator has one (the providers are only the few
    // to dial), else the listed holders — a seeder takes nothing from the origin
    const members = view.members != null
      ? view.members.filter(id => id !== this.init.selfId)
      : view.providers.filter(p => !p.origin && !p.complete && p.id.toString() !== this.init.selfId).map(p => p.id.toString())
    if (answered) this.downloaders = Math.max(view.downloaders ?? 0, members.length + 1)
    // a tracker's view (it has members) that does not name this session's peer, which announced the content:
    // told again (not at the first find, which may cross the first announcement)
    if (answered && this.discovered && view.members != null && this.init.selfId != null &&
      !view.members.includes(this.init.selfId) && !view.providers.some(p => p.id.toString() === this.init.selfId)) {
      this.init.announcer?.forgotten(this.contentId)
    }
    for (const p of view.providers) {
      const id = p.id.toString()
      if (id === this.init.selfId || this.banned.has(id)) continue
      listed.add(id)
      let peer = this.peers.get(id)
      if (peer == null) {
        peer = new PeerSource(p.id, p.multiaddrs, p.origin, this.init.peerSlots ?? DEFAULT_PEER_SLOTS, this.now, 10_000, this.manifest.chunkSize)
        peer.discoveredAt = this.now()
        this.peers.set(id, peer)
      } else {
        peer.addrs = p.multiaddrs
      }
      peer.complete = p.complete
      // a peer listed before it has an address to dial (a tab without its relay reservation yet) is dialled once it has one
      if (p.multiaddrs.length > 0 && !peer.usable() && !peer.connecting && peer.retryAt <= this.now() && this.mayDial(peer)) void this.connect(peer)
    }
    // a holder we could not reach and that the locator no longer lists is forgotten
    for (const peer of this.peers.values()) {
      if (!listed.has(peer.id) && peer.channel == null && !peer.connecting) this.peers.delete(peer.id)
    }
    // a failed find leaves the shares as they were
    if (answered && members.sort().join(' ') !== this.members.join(' ')) {
      this.members = members
      this.share = undefined
    }
    // the policy now knows who holds the content (and who is being connected)
    this.discovered = true
    this.pump()
  }

  /** The origin at once (its node is where a crowd's shares come from); others within MAX_DIALS_IN_FLIGHT. */
  private mayDial (peer: PeerSource): boolean {
    return peer.kind === 'origin' || this.dialing < MAX_DIALS_IN_FLIGHT
  }

  private async connect (peer: PeerSource): Promise<void> {
    peer.connecting = true
    if (peer.kind !== 'origin') this.dialing++
    const startedAt = Date.now()
    const steps: Array<[string, number]> = []
    let outcome: DialOutcome = 'failed'
    let error: string | undefined
    try {
      peer.channel = await this.init.chunks!.channel(peer.peerId, {
        addrs: peer.addrs,
        signal: this.controller.signal,
        onProgress: (evt) => { steps.push([evt.type, Date.now() - startedAt]) }
      })
      outcome = 'direct'
      peer.failures = 0
      peer.channel.addEventListener('close', () => this.dropPeer(peer, false), { once: true })
      await this.subscribe(peer)
    } catch (err: any) {
      if (this.stopped) return
      outcome = err?.name === 'LimitedConnectionError' ? 'relayed' : 'failed'
      error = `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`
      peer.channel = undefined
      peer.failures++
      // try again with backoff while the locator lists it: a WebRTC upgrade fails now and then
      peer.retryAt = this.now() + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (peer.failures - 1))
    } finally {
      peer.connecting = false
      if (peer.kind !== 'origin') this.dialing--
      // a dial was made (or failed): count it, and say it at debug level
      if (steps.length > 0 || error != null) {
        const ms = Date.now() - startedAt
        this.init.dials?.record({ peer: peer.id, startedAt, ms, outcome, error, steps })
        this.log('direct connection to %s: %s in %d ms%s (%s)', peer.id, outcome, ms, error != null ? ` — ${error}` : '', steps.map(([step, t]) => `${step}@${t}`).join(' '))
      }
      if (!this.stopped) {
        this.dispatchEvent(new Event('peer'))
        this.pump()
      }
    }
  }

  /**
   * Ask the peer what it holds and to push every chunk it stores from now
   * on: its bitfield stays current without polling, and a chunk it pushes
   * may be what a waiting read needs, so it pumps. A refusal (BUSY, an
   * unknown content, no answer) is asked again later by `tick`.
   */
  private async subscribe (peer: PeerSource): Promise<void> {
    const channel = peer.channel
    if (channel == null || peer.subscribing || peer.subscription != null) return
    peer.subscribing = true
    // the first updates may arrive with the answer, before its bitfield is installed: they wait here
    const early = new Bitfield(this.have.length)
    let installed = false
    try {
      const onUpdate = (indexes: number[]): void => { this.peerStored(peer, indexes, installed ? undefined : early) }
      const subscription = await channel.subscribeHave(this.contentId, onUpdate, { signal: this.controller.signal })
      if (subscription == null) {
        // it does not know the content (any more): nothing to ask of it for now
        peer.have = undefined
        peer.resubscribeAt = this.now() + RESUBSCRIBE_MS
        return
      }
      peer.subscription = subscription
      if (this.peers.get(peer.id) !== peer || this.stopped || this.complete) {
        subscription.cancel()
        return
      }
      const have = new Bitfield(this.have.length, subscription.bitfield)
      for (const index of early.indices()) have.set(index)
      peer.have = have
      installed = true
      // a peer that holds everything has nothing to push: free its subscription slot
      if (have.isComplete()) subscription.cancel()
      this.pump()
    } catch (err: any) {
      if (this.stopped) return
      if (err?.name === 'ProtocolViolationError' || err?.name === 'RangeError') this.ban(peer, err.message)
      else peer.resubscribeAt = this.now() + (err?.name === 'PeerBusyError' ? RESUBSCRIBE_BUSY_MS : RESUBSCRIBE_MS)
    } finally {
      peer.subscribing = false
    }
  }

  /** A HAVE_UPDATE: the peer stored these chunks (into `early` until the subscription's bitfield is installed). */
  private peerStored (peer: PeerSource, indexes: number[], early: Bitfield | undefined): void {
    if (this.peers.get(peer.id) !== peer || peer.banned) return
    const have = early ?? peer.have
    if (have == null) return
    for (const index of indexes) {
      if (index >= have.length) {
        this.ban(peer, `it pushed chunk ${index} of ${have.length}`)
        return
      }
      have.set(index)
    }
    if (early != null) return
    this.log.trace('peer %s pushed %d chunks of %s', peer.id, indexes.length, this.contentId)
    if (have.isComplete()) peer.subscription?.cancel()
    this.pump()
  }

  private unsubscribe (peer: PeerSource): void {
    peer.subscription?.cancel()
    peer.subscription = undefined
  }

  private dropPeer (peer: PeerSource, ban: boolean): void {
    if (ban) this.banned.add(peer.id)
    if (this.peers.get(peer.id) !== peer) return
    this.peers.delete(peer.id)
    // the channel may serve other sessions and stay open: end this content's updates
    this.unsubscribe(peer)
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
          // rest longer each time; a peer that keeps stalling is dropped for this content — not the
          // origin, which stalls when a crowd loads it: it rests (10 s at most), its HTTP must not stand in for it
          if (peer.stalls >= MAX_STALLS && peer.kind !== 'origin') this.ban(peer, 'it keeps stalling')
          else peer.pausedUntil = now + Math.min(MAX_REST_MS, (this.init.restMs ?? 5000) * 2 ** (Math.min(peer.stalls, MAX_STALLS) - 1))
        }
      }
      if (peer.channel != null && !peer.channel.closed && !peer.connecting && !peer.banned && peer.subscription == null && peer.resubscribeAt <= now) void this.subscribe(peer)
      // the ones a full dial queue left out, and the failed ones once their backoff is over
      if (peer.channel == null && !peer.connecting && !peer.banned && peer.retryAt <= now && peer.addrs.length > 0 && this.mayDial(peer)) void this.connect(peer)
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
    const decision = this.originDecision()
    const now = this.now()
    // HTTP cannot say ELSEWHERE: it stands in for the origin's node when the locator did not list that
    // node, once the node has had no channel for ORIGIN_DOWN_MS, and for a session that has had no peer
    // to trade with for ISOLATED_MS (the node keeps saying ELSEWHERE for what others got: it cannot tell
    // who reaches whom) — so nothing waits for good; otherwise only for a reader's overdue chunk. Not
    // while the node merely rests after a stall: a loaded origin stalls, and its HTTP standing in then
    // sent a crowd each chunk again and again, past the node's super-seeding
    const originNode = [...this.peers.values()].filter(p => p.kind === 'origin' && !p.banned)
    if (originNode.some(p => p.channel != null && !p.channel.closed)) this.originDownSince = undefined
    else this.originDownSince ??= now
    // isolated: no connected peer holds anything this session lacks (none at all, or only peers stuck on
    // the same chunks as us) — in a crowd where most dials fail, whole groups of members waited on chunks
    // the node said were elsewhere, at members none of them reached, and nothing moved for good
    // for a content with no HTTP copy, also alone (no other downloader listed) when the node says ELSEWHERE
    // and the locator lists a seeder this session does not reach (a tab it cannot connect to): nothing else
    // can stand in. Not with HTTP: sessions of a crowd that saw no member yet (failed or early finds) took
    // that for it and sent a 100-peer crowd 2.9–10× the file over HTTP (the flash-crowd bench, 2026-12-07;
    // 1.38× without); there a tab's chunks held back wait out the super-seed window, as before
    const unreached = this.http instanceof OriginStandInState && this.members.length === 0 && this.toldElsewhere && this.listsUnreachedSeeder()
    if ((this.members.length === 0 && !unreached) || this.canTrade(now)) this.isolatedSince = undefined
    else this.isolatedSince ??= now
    const isolatedMs = this.members.length > 0 ? (this.init.isolatedMs ?? ISOLATED_MS) : Math.min(this.init.isolatedMs ?? ISOLATED_MS, LONE_ISOLATED_MS)
    this.standIn = originNode.length === 0 || now - (this.originDownSince ?? now) >= ORIGIN_DOWN_MS || now - (this.isolatedSince ?? now) >= isolatedMs
    if (this.inFlight.size > 0) this.idleSince = undefined
    else this.idleSince ??= now
    if (decision.share && this.idleSince != null && now - this.idleSince >= SHARE_IDLE_MS) {
      // idle with a share: a few chunks outside it, drawn at random (not the
      // start of the file, which every idle member of a crowd would draw);
      // in a large swarm only some idle members draw each second, so that
      // what the origin sends this way does not grow with the swarm
      if ((this.init.random ?? Math.random)() < IDLE_GRANTS_PER_SECOND / this.downloaders) this.idleGrant = this.drawIdleGrant()
      this.idleSince = now
    }
    const owned = decision.share ? this.originShare() : undefined
    const grant = this.idleGrant
    // a reader (the bridge's /stream, a player) that waited READER_WAIT_MS for a chunk outside the share gets it from the origin
    const overdue = new Set<number>()
    if (owned != null) for (const [i, since] of this.waitingSince) if (now - since >= READER_WAIT_MS && !this.have.has(i)) overdue.add(i)
    const share = owned == null ? undefined : (i: number): boolean => owned[i] === 1 || grant.has(i) || overdue.has(i)
    const httpShare = this.standIn ? share : (i: number): boolean => overdue.has(i)
    const urgent = decision.atRisk ? this.atRisk() : NONE
    const assignments = pick({
      chunkCount: this.have.length,
      have: i => this.have.has(i),
      inFlight: this.inFlight,
      position: this.position,
      criticalWindow: this.windowChunks(),
      sources: sources.map(s => s.view()),
      blocked: this.blockedReads(),
      urgent,
      originAllowed: decision.unheld,
      originShare: share,
      httpShare,
      waitForResting: this.init.urgentOrigin ?? false,
      // alone with the origin, in order; among other peers, from this session's own point
      spreadFrom: this.hasOtherPeers() ? this.spreadFrom : undefined
    })
    for (const { index, source } of assignments) {
      const from = byId.get(source)!
      const why: OriginWhy | undefined = from.kind === 'peer'
        ? undefined
        : urgent.has(index) || overdue.has(index) ? 'at-risk' : !decision.share ? 'alone' : owned?.[index] === 1 ? 'share' : 'idle'
      this.fetch(index, from, why)
    }
  }

  /** Up to IDLE_GRANT chunks this session lacks, has not asked for and was not just told are in the swarm, from a random point on. */
  private drawIdleGrant (): Set<number> {
    const n = this.have.length
    const from = Math.floor((this.init.random ?? Math.random)() * n)
    const refused = this.standIn ? [] : [...this.peers.values()].filter(p => p.kind === 'origin').map(p => p.failed)
    const out = new Set<number>()
    for (let k = 0; k < n && out.size < IDLE_GRANT; k++) {
      const i = (from + k) % n
      if (!this.have.has(i) && !this.inFlight.has(i) && !refused.some(f => f.has(i))) out.add(i)
    }
    return out
  }

  /** This session's share of the chunks the origin serves to the members of the swarm it knows (share.ts). */
  private originShare (): Uint8Array {
    this.share ??= originShare(this.selfId, this.members, this.have.length)
    return this.share
  }

  /**
   * A connected peer holds a chunk this session lacks. Scanned at most once
   * a second (a scan walks the missing chunks of each connected peer; it
   * stops at the first chunk found).
   */
  private canTrade (now: number): boolean {
    if (this.tradeCheckedAt != null && now - this.tradeCheckedAt < TRADE_CHECK_MS) return this.tradeable
    this.tradeCheckedAt = now
    const missing: number[] = []
    for (let i = 0; i < this.have.length; i++) if (!this.have.has(i)) missing.push(i)
    this.tradeable = [...this.peers.values()].some(p => p.kind === 'peer' && p.usable() && missing.some(i => p.has(i)))
    return this.tradeable
  }

  /** The locator lists a seeder (a holder of every chunk) that this session has no usable channel to. */
  private listsUnreachedSeeder (): boolean {
    for (const p of this.peers.values()) if (p.kind === 'peer' && !p.banned && p.complete && !p.usable()) return true
    return false
  }

  /** The origin's node among the sources, once the locator named it. */
  private originNode (): PeerSource | undefined {
    for (const p of this.peers.values()) if (p.kind === 'origin' && !p.banned) return p
    return undefined
  }

  private hasOtherPeers (): boolean {
    for (const p of this.peers.values()) if (p.kind === 'peer' && !p.banned) return true
    return false
  }

  /** What the origin may serve now (see origin-policy.ts). */
  originDecision (): OriginDecision {
    const now = this.now()
    let connected = 0
    let pending = 0
    let pendingSeeders = 0
    for (const p of this.peers.values()) {
      if (p.kind !== 'peer' || p.banned) continue
      if (p.usable()) connected++
      else if ((p.connecting || p.retryAt > now || p.channel != null) && p.failures < PENDING_MAX_FAILURES && now - p.discoveredAt < PENDING_WAIT_MS) {
        pending++
        if (p.complete) pendingSeeders++
      }
    }
    return originPolicy({
      now,
      startedAt: this.startedAt,
      discovered: this.discovered,
      connected,
      pending,
      pendingSeeders,
      members: this.members.length,
      player: this.init.urgentOrigin ?? false,
      startBudgetMs: this.init.startBudgetMs ?? DEFAULT_START_BUDGET_MS
    })
  }

  /**
   * The reads that go first. Before a player reports a playhead, every one;
   * after, those near it: a range request the browser made for the old
   * position (before a seek) can stay open a while, reading on chunk after
   * chunk, and must not take the links from the chunks playback now needs.
   */
  private blockedReads (): Set<number> {
    if (this.playhead == null) return new Set(this.waiters.keys())
    const from = this.playhead - this.riskChunks
    const to = this.playhead + this.windowChunks()
    return new Set([...this.waiters.keys()].filter(i => i >= from && i < to))
  }

  private atRisk (): Set<number> {
    return atRiskChunks({ chunkCount: this.have.length, have: i => this.have.has(i), blocked: this.waiters.keys(), playhead: this.playhead, riskChunks: this.riskChunks })
  }

  /**
   * Why peers are not carrying this content now, in a word a UI turns into
   * a sentence: `undefined` when they are (or it is complete).
   */
  why (): 'finding' | 'no-holder' | 'connecting' | 'relayed' | 'busy' | undefined {
    if (this.complete || this.stopped) return undefined
    const decision = this.originDecision()
    if (decision.reason === 'finding' || decision.reason === 'no-holder') return decision.reason
    const others = [...this.peers.values()].filter(p => p.kind === 'peer' && !p.banned)
    const usable = others.filter(p => p.usable())
    if (usable.length === 0) return others.some(p => p.failures > 0) ? 'relayed' : 'connecting'
    if (usable.every(p => p.free() === 0 && p.inFlight.size === 0)) return 'busy'
    return undefined
  }

  private fetch (index: number, source: SourceState, originWhy?: OriginWhy): void {
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, this.controller.signal])
    source.inFlight.set(index, { controller, started: this.now() })
    this.inFlight.add(index)
    const request = source instanceof PeerSource
      ? source.channel!.getChunk(this.contentId, index, { signal })
      : source instanceof OriginStandInState
        ? source.origin()!.channel!.getChunk(this.contentId, index, { signal, isolated: true })
        : this.init.http!.getChunk(this.manifest, index, { signal })
    request
      .then(async data => { await this.accept(index, data, source, originWhy) })
      .catch((err: any) => { this.failed(index, source, err) })
      .finally(() => {
        source.inFlight.delete(index)
        this.inFlight.delete(index)
        this.pump()
      })
  }

  private async accept (index: number, data: Uint8Array, source: SourceState, originWhy?: OriginWhy): Promise<void> {
    if (this.have.has(index) || this.stopped) return
    try {
      await this.init.store.putChunk(this.contentId, index, data)
    } catch (err: any) {
      if (err?.name === 'ChunkHashMismatchError' || err?.name === 'ChunkIndexOutOfRangeError') this.stats.discarded(data.byteLength)
      // the store has no room: every other chunk would fail alike, the session ends with the reason
      if (err?.name === 'DiskFullError') this.stop(err)
      throw err
    }
    this.have.set(index)
    if (source.kind === 'peer' && this.firstPeerByteAt == null) this.firstPeerByteAt = this.now()
    // the stand-in's bytes are the origin node's (stats, chunk maps)
    const from = source instanceof OriginStandInState ? (source.origin() ?? source) : source
    this.stats.received(from, data.byteLength)
    source.rate.add(data.byteLength)
    this.log.trace('chunk %d of %s from %s', index, this.contentId, source.id)
    this.dispatchEvent(new CustomEvent<ChunkEvent>('chunk', { detail: { index, source: from.id, bytes: data.byteLength, originWhy } }))
    this.waiters.get(index)?.forEach(w => w.resolve())
    this.waiters.delete(index)
    this.waitingSince.delete(index)
    if (this.complete) this.finish()
    else this.init.announcer?.set(this.contentId, false)
  }

  private failed (index: number, source: SourceState, err: any): void {
    if (this.stopped) return
    const name: string = err?.name ?? ''
    if (name === 'SupersededError') return
    source.failed.add(index)
    if (name === 'ChunkElsewhereError') {
      // the origin sent it to another member: it will be pushed to us by whoever holds it; an idle grant
      // does not ask for it again (the origin would refuse it until its window ends: super-seed.ts); a
      // session that reaches no peer turns to HTTP instead (standIn)
      this.log.trace('chunk %d of %s: the origin says it is in the swarm', index, this.contentId)
      if (this.idleGrant.has(index) && !this.standIn) this.idleGrant = new Set([...this.idleGrant].filter(i => i !== index))
      this.toldElsewhere = true
      return
    }
    this.log('chunk %d of %s from %s failed: %s', index, this.contentId, source.id, err?.message ?? err)
    if (!(source instanceof PeerSource)) {
      source.pausedUntil = this.now() + 1000
      return
    }
    if (name === 'ChunkHashMismatchError' || name === 'ProtocolViolationError') this.ban(source, name)
    else if (name === 'PeerBusyError') source.pausedUntil = this.now() + 500
    else if (name === 'ChunkUnavailableError') {
      source.have?.clear(index)
      // our view of it was stale, and a subscription only pushes what lands
      // from now on: subscribe again (at the next tick) for a fresh bitfield
      this.unsubscribe(source)
    }
    else if (name === 'ChannelClosedError') this.dropPeer(source, false)
  }
}
