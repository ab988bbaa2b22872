import type { ContentId } from '../../content/manifest'
import { DEFAULT_FIND_LIMIT, DEFAULT_TTL_MS, MAX_ENTRIES_PER_PEER } from './constants'
import type { ProviderRecord } from './codec'

interface Holder {
  addrs: string[]
  complete: boolean
  origin: boolean
  /** ms since epoch; Infinity for pinned entries (the relay's own library). */
  expires: number
  announced: number
}

export interface TrackerRegistryInit {
  ttlMs?: number
  maxEntriesPerPeer?: number
  now?: () => number
}

/**
 * Who holds which content: pure state, no I/O, a clock injected for tests.
 * Entries expire `ttlMs` after their last announcement.
 */
export class TrackerRegistry {
  readonly ttlMs: number
  private readonly maxPerPeer: number
  private readonly now: () => number
  private readonly byContent = new Map<ContentId, Map<string, Holder>>()
  private readonly byPeer = new Map<string, Set<ContentId>>()

  constructor (init: TrackerRegistryInit = {}) {
    this.ttlMs = init.ttlMs ?? DEFAULT_TTL_MS
    this.maxPerPeer = init.maxEntriesPerPeer ?? MAX_ENTRIES_PER_PEER
    this.now = init.now ?? Date.now
  }

  /** Returns how many entries were accepted (a peer is capped at maxEntriesPerPeer). */
  announce (peer: string, addrs: string[], entries: Array<{ contentId: ContentId, complete: boolean }>, options: { origin?: boolean, pinned?: boolean } = {}): number {
    const now = this.now()
    const mine = this.byPeer.get(peer) ?? new Set<ContentId>()
    this.byPeer.set(peer, mine)
    let accepted = 0
    for (const { contentId, complete } of entries) {
      if (!mine.has(contentId) && mine.size >= this.maxPerPeer) continue
      let holders = this.byContent.get(contentId)
      if (holders == null) {
        holders = new Map()
        this.byContent.set(contentId, holders)
      }
      holders.set(peer, {
        addrs,
        complete,
        origin: options.origin ?? false,
        expires: options.pinned === true ? Infinity : now + this.ttlMs,
        announced: now
      })
      mine.add(contentId)
      accepted++
    }
    if (mine.size === 0) this.byPeer.delete(peer)
    return accepted
  }

  withdraw (peer: string, contentIds: ContentId[]): void {
    for (const id of contentIds) this.remove(peer, id)
  }

  /** Forget everything a peer announced (it disconnected). Pinned entries stay. */
  removePeer (peer: string): void {
    for (const id of [...this.byPeer.get(peer) ?? []]) {
      if (this.byContent.get(id)?.get(peer)?.expires !== Infinity) this.remove(peer, id)
    }
  }

  /**
   * Live holders of a content, seeders first, then the most recently
   * announced; the origin last, since others should carry the load.
   */
  find (contentId: ContentId, options: { limit?: number, exclude?: string } = {}): ProviderRecord[] {
    this.prune(contentId)
    const holders = [...this.byContent.get(contentId) ?? []]
      .filter(([peer]) => peer !== options.exclude)
      .sort(([, a], [, b]) => Number(a.origin) - Number(b.origin) || Number(b.complete) - Number(a.complete) || b.announced - a.announced)
    return holders.slice(0, options.limit ?? DEFAULT_FIND_LIMIT)
      .map(([peer, h]) => ({ peer, addrs: h.addrs, complete: h.complete, origin: h.origin }))
  }

  /** Number of live (peer, content) entries. */
  size (): number {
    this.pruneAll()
    let n = 0
    for (const holders of this.byContent.values()) n += holders.size
    return n
  }

  pruneAll (): void {
    for (const id of [...this.byContent.keys()]) this.prune(id)
  }

  private prune (contentId: ContentId): void {
    const now = this.now()
    for (const [peer, h] of this.byContent.get(contentId) ?? []) {
      if (h.expires <= now) this.remove(peer, contentId)
    }
  }

  private remove (peer: string, contentId: ContentId): void {
    const holders = this.byContent.get(contentId)
    holders?.delete(peer)
    if (holders?.size === 0) this.byContent.delete(contentId)
    const mine = this.byPeer.get(peer)
    mine?.delete(contentId)
    if (mine?.size === 0) this.byPeer.delete(peer)
  }
}
