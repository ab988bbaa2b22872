import type { ContentId } from '../content/manifest'
import { anySignal, type AbortOptions } from '../util/abort'
import type { Announcement, ContentLocator, Provider, SwarmView } from './types'

export interface CombinedLocatorInit {
  /** The relay's tracker: it knows the swarm (members, downloaders, who is complete), answers first. */
  tracker: ContentLocator
  /** The DHT: holders anywhere in the network of relays. */
  dht: ContentLocator
  /**
   * Once the tracker named a holder, the DHT is waited for this much longer
   * (its lookup crosses relays); with none, the DHT's own time bound applies.
   */
  dhtGraceMs?: number
  /** A DHT announcement or withdrawal failed (it is tried again with the next renewal). */
  onDhtError?(err: Error): void
}

const DEFAULT_DHT_GRACE_MS = 1_500

/**
 * Asks the tracker and the DHT together. Announcements go to both, the
 * DHT's in the background (a provide is a lookup across relays: it must
 * not hold back the tracker's, and its failure is not the tracker's); a find
 * merges their providers (the tracker's view of a peer wins: it knows
 * whether the peer is complete); the swarm's members are the tracker's
 * alone, since a DHT record says nothing of who is downloading. A failure
 * of one is not a failure of the find while the other answers.
 */
export class CombinedLocator implements ContentLocator {
  constructor (private readonly init: CombinedLocatorInit) {}

  async announce (entries: Announcement[], options?: AbortOptions): Promise<void> {
    this.init.dht.announce(entries).catch((err: Error) => this.init.onDhtError?.(err))
    await this.init.tracker.announce(entries, options)
  }

  async withdraw (contentIds: ContentId[], options?: AbortOptions): Promise<void> {
    this.init.dht.withdraw(contentIds).catch((err: Error) => this.init.onDhtError?.(err))
    await this.init.tracker.withdraw(contentIds, options)
  }

  async findProviders (contentId: ContentId, options?: AbortOptions): Promise<Provider[]> {
    return (await this.findSwarm(contentId, options)).providers
  }

  async findSwarm (contentId: ContentId, options?: AbortOptions): Promise<SwarmView> {
    const { tracker } = this.init
    const dhtStop = new AbortController()
    const dht = this.init.dht.findProviders(contentId, { signal: anySignal(options?.signal, dhtStop.signal) })
    // the DHT's rejection is read below, or dropped with the tracker's
    dht.catch(() => {})
    let view: SwarmView | undefined
    let trackerError: unknown
    try {
      view = tracker.findSwarm != null ? await tracker.findSwarm(contentId, options) : { providers: await tracker.findProviders(contentId, options) }
    } catch (err) {
      trackerError = err
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    if (view != null && view.providers.length > 0) {
      timer = setTimeout(() => { dhtStop.abort() }, this.init.dhtGraceMs ?? DEFAULT_DHT_GRACE_MS)
    }
    let fromDht: Provider[] = []
    try {
      fromDht = await dht
    } catch (err) {
      if (view == null) throw new AggregateError([trackerError, err], `Neither the tracker nor the DHT answered: ${(trackerError as Error)?.message}; ${(err as Error)?.message}`)
    } finally {
      clearTimeout(timer)
      dhtStop.abort()
    }
    const providers = [...(view?.providers ?? [])]
    const known = new Set(providers.map(p => p.id.toString()))
    for (const p of fromDht) {
      if (!known.has(p.id.toString())) providers.push(p)
    }
    const members = view?.members ?? (view?.providers ?? []).filter(p => !p.origin && !p.complete).map(p => p.id.toString())
    return { providers, members, downloaders: view?.downloaders }
  }
}
