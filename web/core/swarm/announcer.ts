import type { Logger } from '@libp2p/interface'
import type { ContentId } from '../content/manifest'
import type { Announcement, ContentLocator } from '../routing/types'
import { DEFAULT_TTL_MS } from '../protocols/tracker/constants'

export interface AnnouncerInit {
  locator: ContentLocator
  log: Logger
  /** Renew every announcement this often (half the tracker's TTL by default). */
  intervalMs?: number
  /** Changes are gathered this long before being sent. */
  debounceMs?: number
  /** The locator took these announcements (each round that succeeded). */
  onAnnounced?: (entries: Announcement[]) => void
}

const RETRY_MS = 2000
/** A content a tracker forgot is told again at most this often. */
const RETELL_MS = 5000

/**
 * Keeps the locator told what this peer holds: a change is announced
 * promptly (debounced), everything is renewed before the tracker forgets it,
 * and failures are retried on the next round.
 */
export class Announcer {
  private readonly held = new Map<ContentId, boolean>()
  private readonly dirty = new Set<ContentId>()
  private readonly retold = new Map<ContentId, number>()
  private timer?: ReturnType<typeof setTimeout>
  private renew?: ReturnType<typeof setInterval>
  private sending?: Promise<void>

  constructor (private readonly init: AnnouncerInit) {}

  start (): void {
    this.renew ??= setInterval(() => { this.flush(true) }, this.init.intervalMs ?? DEFAULT_TTL_MS / 2)
  }

  stop (): void {
    clearInterval(this.renew)
    clearTimeout(this.timer)
    this.renew = undefined
    this.timer = undefined
  }

  /** Say that this peer holds (part of) a content. */
  set (contentId: ContentId, complete: boolean): void {
    if (this.held.get(contentId) === complete) return
    this.held.set(contentId, complete)
    this.dirty.add(contentId)
    this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(false) }, this.init.debounceMs ?? 50)
  }

  remove (contentId: ContentId): void {
    if (!this.held.delete(contentId)) return
    this.dirty.delete(contentId)
    this.retold.delete(contentId)
    this.init.locator.withdraw([contentId]).catch((err: Error) => this.init.log('withdraw failed: %s', err.message))
  }

  /**
   * A tracker's answer about `contentId` did not list this peer, which holds
   * it: the relay forgot it (a relay drops a peer's announcements when its
   * last connection to the peer closes; renewals come only every 5 min, and
   * meanwhile the origin's super-seeding counts the peer out of the swarm).
   * Told again now, at most every 5 s.
   */
  forgotten (contentId: ContentId): void {
    if (!this.held.has(contentId)) return
    const now = Date.now()
    if (now - (this.retold.get(contentId) ?? 0) < RETELL_MS) return
    this.retold.set(contentId, now)
    this.dirty.add(contentId)
    this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(false) }, this.init.debounceMs ?? 50)
  }

  /** Announce everything again now (our addresses changed, or the tracker came back). */
  refresh (): void {
    this.flush(true)
  }

  /** Wait for announcements in progress (tests, shutdown). */
  async settled (): Promise<void> {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.flush(false)
    }
    await this.sending
  }

  private flush (all: boolean): void {
    const ids = all ? [...this.held.keys()] : [...this.dirty]
    this.dirty.clear()
    if (ids.length === 0) return
    const entries: Announcement[] = ids.filter(id => this.held.has(id)).map(contentId => ({ contentId, complete: this.held.get(contentId) === true }))
    const previous = this.sending ?? Promise.resolve()
    this.sending = previous.then(async () => {
      await this.init.locator.announce(entries)
      this.init.onAnnounced?.(entries)
    }).catch((err: Error) => {
      this.init.log('announce failed (retried on the next round): %s', err.message)
      for (const e of entries) this.dirty.add(e.contentId)
      if (this.renew != null) this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(false) }, RETRY_MS)
    })
  }
}
