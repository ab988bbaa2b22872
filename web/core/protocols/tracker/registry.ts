import type { ContentId } from '../../content/manifest'
import { DEFAULT_FIND_LIMIT, DEFAULT_TTL_MS, MAX_ENTRIES, MAX_ENTRIES_PER_PEER } from './constants'
import type { ProviderRecord } from './codec'

/**
 * What a holder showed it holds, when asked (the relay asks every peer that
 * announces a content its catalogue lists, over the chunk protocol):
 * `unchecked` until it answered (a peer announcing over the network), `none`
 * / `part` / `all` from its answer, `failed` when it could not answer (no
 * chunk protocol, content unknown to it). An entry announced locally (the
 * relay's own library, tests) is taken at its word: `all` or `part`.
 */
export type HolderCheck = 'unchecked' | 'none' | 'part' | 'all' | 'failed'

interface Holder {
  addrs: string[]
  /** What the peer claimed. */
  complete: boolean
  check: HolderCheck
  origin: boolean
  /** ms since epoch; Infinity for pinned entries (the relay's own library). */
  expires: number
  announced: number
}

export interface TrackerRegistryInit {
  ttlMs?: number
  maxEntriesPerPeer?: number
  /** (peer, content) entries in all; past it new ones are refused until some expire or are withdrawn (pinned ones always fit). */
  maxEntries?: number
  now?: () => number
}

/**
 * Complete as far as the tracker tells others: the holder's claim until it
 * was asked, then its answer (a peer that claims everything and answers
 * part of it is a partial holder).
 */
function complete (h: Holder): boolean {
  return h.check === 'unchecked' ? h.complete : h.check === 'all'
}

/** How many peers other than the origin hold a content: any part of it, and all of it. */
export interface HolderCounts {
  peers: number
  seeders: number
}

/**
 * Told, once per operation, the contents whose holders changed: a peer
 * gained or lost one, or finished it (announce, withdraw, disconnect,
 * expiry). A renewal that changes nothing is not a change.
 */
export type HoldersChangeListener = (contentIds: readonly ContentId[]) => void

/**
 * Who holds which content: pure state, no I/O, a clock injected for tests.
 * Entries expire `ttlMs` after their last announcement; expiry is noticed
 * when the content is next looked at, or by `sweep()`, which the owner calls
 * on a timer (it costs nothing until the earliest entry may have expired).
 */
export class TrackerRegistry {
  readonly ttlMs: number
  private readonly maxPerPeer: number
  private readonly maxEntries: number
  /** Entries held, expired ones not yet pruned included. */
  private entries = 0
  private readonly now: () => number
  private readonly byContent = new Map<ContentId, Map<string, Holder>>()
  private readonly byPeer = new Map<string, Set<ContentId>>()
  private readonly listeners = new Set<HoldersChangeListener>()
  /** Changes of the operation under way, told to the listeners at its end. */
  private changed = new Set<ContentId>()
  /** No entry expires before this (a lower bound: renewals only push expiries later). */
  private earliestExpiry = Infinity

  constructor (init: TrackerRegistryInit = {}) {
    this.ttlMs = init.ttlMs ?? DEFAULT_TTL_MS
    this.maxPerPeer = init.maxEntriesPerPeer ?? MAX_ENTRIES_PER_PEER
    this.maxEntries = init.maxEntries ?? MAX_ENTRIES
    this.now = init.now ?? Date.now
  }

  /**
   * Returns how many entries were accepted: a peer is capped at
   * maxEntriesPerPeer, and the registry at maxEntries (renewals and pinned
   * entries always pass), so that many identities cannot pin memory either.
   */
  announce (peer: string, addrs: string[], entries: Array<{ contentId: ContentId, complete: boolean }>, options: { origin?: boolean, pinned?: boolean, unchecked?: boolean } = {}): number {
    const now = this.now()
    if (this.entries + entries.length > this.maxEntries && options.pinned !== true) this.pruneAll()
    const mine = this.byPeer.get(peer) ?? new Set<ContentId>()
    this.byPeer.set(peer, mine)
    const expires = options.pinned === true ? Infinity : now + this.ttlMs
    const origin = options.origin ?? false
    let accepted = 0
    for (const { contentId, complete } of entries) {
      if (!mine.has(contentId) && mine.size >= this.maxPerPeer) continue
      let holders = this.byContent.get(contentId)
      if (holders == null) {
        holders = new Map()
        this.byContent.set(contentId, holders)
      }
      const before = holders.get(peer)
      if (before == null && this.entries >= this.maxEntries && options.pinned !== true) {
        if (holders.size === 0) this.byContent.delete(contentId)
        continue
      }
      if (before == null) this.entries++
      if (before == null || before.expires <= now || before.complete !== complete || before.origin !== origin) this.changed.add(contentId)
      // a claim over the network waits for the holder's answer (a renewal keeps the answer it had); a local one is taken at its word
      const check: HolderCheck = options.unchecked === true
        ? (before != null && before.expires > now ? before.check : 'unchecked')
        : complete ? 'all' : 'part'
      holders.set(peer, { addrs, complete, check, origin, expires, announced: now })
      mine.add(contentId)
      accepted++
    }
    if (mine.size === 0) this.byPeer.delete(peer)
    if (accepted > 0) this.earliestExpiry = Math.min(this.earliestExpiry, expires)
    this.tell()
    return accepted
  }

  /**
   * Record what a holder answered when asked (see HolderCheck). Nothing
   * happens for an entry that is gone (withdrawn, expired, disconnected).
   */
  check (peer: string, contentId: ContentId, check: Exclude<HolderCheck, 'unchecked'>): void {
    const h = this.byContent.get(contentId)?.get(peer)
    if (h == null || h.origin || h.check === check) return
    h.check = check
    this.changed.add(contentId)
    this.tell()
  }

  /** What a live holder answered so far; undefined when it holds no entry for the content. */
  checkOf (peer: string, contentId: ContentId): HolderCheck | undefined {
    const h = this.byContent.get(contentId)?.get(peer)
    return h != null && h.expires > this.now() ? h.check : undefined
  }

  /** The live holders of a content other than origin entries (the ones to ask). */
  holders (contentId: ContentId): string[] {
    this.prune(contentId)
    this.tell()
    return [...this.byContent.get(contentId) ?? []].filter(([, h]) => !h.origin).map(([peer]) => peer)
  }

  withdraw (peer: string, contentIds: ContentId[]): void {
    for (const id of contentIds) this.remove(peer, id)
    this.tell()
  }

  /** Forget everything a peer announced (it disconnected). Pinned entries stay. */
  removePeer (peer: string): void {
    for (const id of [...this.byPeer.get(peer) ?? []]) {
      if (this.byContent.get(id)?.get(peer)?.expires !== Infinity) this.remove(peer, id)
    }
    this.tell()
  }

  /**
   * Live holders of a content, seeders first, then the most recently
   * announced; the origin last, since others should carry the load — but
   * always within the limit: a crowd's sessions take their shares from the
   * origin's node, which says when a chunk is already in the swarm, rather
   * than from its HTTP, which cannot.
   */
  find (contentId: ContentId, options: { limit?: number, exclude?: string } = {}): ProviderRecord[] {
    this.prune(contentId)
    this.tell()
    const limit = options.limit ?? DEFAULT_FIND_LIMIT
    const holders = [...this.byContent.get(contentId) ?? []]
      .filter(([peer, h]) => peer !== options.exclude && h.check !== 'failed')
      .sort(([, a], [, b]) => Number(a.origin) - Number(b.origin) || Number(complete(b)) - Number(complete(a)) || b.announced - a.announced)
    const origins = holders.filter(([, h]) => h.origin).slice(0, limit)
    return [...holders.filter(([, h]) => !h.origin).slice(0, limit - origins.length), ...origins]
      .map(([peer, h]) => ({ peer, addrs: h.addrs, complete: complete(h), origin: h.origin }))
  }

  /**
   * The swarm's downloaders (live holders that are neither complete nor the
   * origin): their number, and the `limit` lowest ids — the same list for
   * every asker, the asker included, since each partitions the origin's
   * chunks among exactly these (swarm/share.ts).
   */
  members (contentId: ContentId, limit: number): { ids: string[], count: number } {
    this.prune(contentId)
    this.tell()
    const ids: string[] = []
    for (const [peer, h] of this.byContent.get(contentId) ?? []) if (!h.origin && !complete(h) && h.check !== 'failed') ids.push(peer)
    ids.sort()
    return { ids: ids.slice(0, limit), count: ids.length }
  }

  /** Whether `peer` is a live holder of a content (any part of it), not one that failed to answer for it. */
  holds (contentId: ContentId, peer: string): boolean {
    const h = this.byContent.get(contentId)?.get(peer)
    return h != null && h.expires > this.now() && h.check !== 'failed'
  }

  /**
   * Live holders of a content other than origin entries, as they answered:
   * a peer that holds at least one chunk, a seeder all of them. A claim
   * nobody checked yet (or that failed) counts for nothing.
   */
  countHolders (contentId: ContentId): HolderCounts {
    this.prune(contentId)
    this.tell()
    let peers = 0
    let seeders = 0
    for (const h of this.byContent.get(contentId)?.values() ?? []) {
      if (h.origin) continue
      if (h.check === 'part' || h.check === 'all') peers++
      if (h.check === 'all') seeders++
    }
    return { peers, seeders }
  }

  /** Number of live (peer, content) entries. */
  size (): number {
    this.pruneAll()
    let n = 0
    for (const holders of this.byContent.values()) n += holders.size
    return n
  }

  /** Drop every expired entry now, telling the listeners. */
  pruneAll (): void {
    let earliest = Infinity
    for (const id of [...this.byContent.keys()]) earliest = Math.min(earliest, this.prune(id))
    this.earliestExpiry = earliest
    this.tell()
  }

  /** `pruneAll()` if some entry may have expired since the last one; cheap otherwise. Call it on a timer. */
  sweep (): void {
    if (this.now() >= this.earliestExpiry) this.pruneAll()
  }

  /** Be told which contents' holders changed; returns the unsubscribe function. */
  onChange (listener: HoldersChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Removes the expired holders of a content; returns the earliest expiry of those left. */
  private prune (contentId: ContentId): number {
    const now = this.now()
    let earliest = Infinity
    for (const [peer, h] of this.byContent.get(contentId) ?? []) {
      if (h.expires <= now) this.remove(peer, contentId)
      else earliest = Math.min(earliest, h.expires)
    }
    return earliest
  }

  private remove (peer: string, contentId: ContentId): void {
    const holders = this.byContent.get(contentId)
    if (holders?.delete(peer) === true) {
      this.changed.add(contentId)
      this.entries--
    }
    if (holders?.size === 0) this.byContent.delete(contentId)
    const mine = this.byPeer.get(peer)
    mine?.delete(contentId)
    if (mine?.size === 0) this.byPeer.delete(peer)
  }

  /**
   * Tell the listeners what this operation changed. A listener that throws
   * does not stop the others, nor the registry: its error is dropped, so
   * listeners should catch and log their own.
   */
  private tell (): void {
    if (this.changed.size === 0) return
    const contentIds = [...this.changed]
    this.changed = new Set()
    for (const listener of [...this.listeners]) {
      try {
        listener(contentIds)
      } catch {}
    }
  }
}
