import type { Multiaddr } from '@multiformats/multiaddr'
import type { ContentId } from '../content/manifest'
import { anySignal, type AbortOptions } from '../util/abort'
import type { Announcement, ContentLocator, Provider, SwarmView } from './types'

export interface CombinedLocatorInit {
  /** The relay's tracker: it knows the swarm (members, downloaders, who is complete), answers first. */
  tracker: ContentLocator
  /** The DHT: holders anywhere in the network of relays. */
  dht: ContentLocator
  /**
   * The tracker of another relay, at its addresses. A content whose origin
   * (a relay seeding it from its library) the DHT names is that relay's
   * swarm: its tracker is asked and told too, so the downloaders attached
   * to different relays know each other and share the origin's chunks
   * among all of them, as one crowd. Without it only the DHT's providers
   * are added.
   */
  trackerAt?(addrs: Multiaddr[]): ContentLocator
  /**
   * This node's peer id: an origin tracker whose answer does not list it
   * while it holds an announcement (the relay dropped it with a lost
   * connection) is told again.
   */
  selfId?: string
  /** Such a tracker is told again at most this often; default 5 s. */
  originRetellMs?: number
  /** A content's DHT lookup is made again at most this often (it crosses relays); default 10 s. */
  dhtLookupIntervalMs?: number
  /** An announcement to the DHT or to another relay's tracker failed (each is tried again with the next renewal). */
  onBackgroundError?(err: Error): void
}

const DHT_LOOKUP_INTERVAL_MS = 10_000
/** Another relay's tracker, asked after the DHT named it, answers within this. */
const ORIGIN_TRACKER_TIMEOUT_MS = 5_000
/**
 * An origin tracker that does not list this node is told again at most this
 * often. A relay forgets a peer's announcements when its last connection to
 * the peer closes, and the Announcer renews only every 5 min: meanwhile the
 * origin's super-seeding counted the peer out of the swarm and sent others
 * what it had sent it (the relays bench: up to 743 of 1,800 chunk requests,
 * 13× the file from the origin; 100 of them in another run, 3.2×).
 */
const RETELL_MS = 5_000

interface OriginTracker {
  id: string
  locator: ContentLocator
  /** When it was last told what this node holds of the content. */
  toldAt: number
}

/**
 * Asks the relay's tracker and the DHT together, and the tracker of a
 * content's origin relay once the DHT named it. Announcements go to all,
 * all but the relay's own in the background (a provide is a lookup across
 * relays: it must not hold back the tracker's, and its failure is not the
 * tracker's). A find merges the providers (a tracker's view of a peer wins
 * over a DHT record: it knows whether the peer is complete) and the
 * members the trackers know, since a DHT record says nothing of who is
 * downloading. A failure of one is not a failure of the find while
 * another answers.
 */
export class CombinedLocator implements ContentLocator {
  /** Per content, the trackers of its origin relays other than ours. */
  private readonly origins = new Map<ContentId, Map<string, OriginTracker>>()
  /** What we last announced of each content (told to an origin tracker found later). */
  private readonly held = new Map<ContentId, Announcement>()
  /** Per content, the relays a catalogue said seed it (`originOf`). */
  private readonly hinted = new Map<ContentId, Set<string>>()
  /** Per content, what the last DHT lookup found, and when. */
  private readonly found = new Map<ContentId, { at: number, providers: Provider[] }>()
  /** Per content, the DHT lookup under way. */
  private readonly lookups = new Map<ContentId, Promise<void>>()

  constructor (private readonly init: CombinedLocatorInit) {}

  /**
   * A catalogue said that `relay` (a peer id) seeds `contentId` from its
   * library: a DHT provider with that id is its origin, even before this
   * node has learnt from identify that it is a relay.
   */
  originOf (contentId: ContentId, relay: string): void {
    let set = this.hinted.get(contentId)
    if (set == null) this.hinted.set(contentId, set = new Set())
    set.add(relay)
  }

  async announce (entries: Announcement[], options?: AbortOptions): Promise<void> {
    for (const e of entries) this.held.set(e.contentId, e)
    this.background(this.init.dht.announce(entries))
    for (const [locator, mine] of this.byOrigin(entries.map(e => e.contentId))) {
      this.background(locator.announce(entries.filter(e => mine.has(e.contentId))))
    }
    await this.init.tracker.announce(entries, options)
  }

  async withdraw (contentIds: ContentId[], options?: AbortOptions): Promise<void> {
    for (const id of contentIds) this.held.delete(id)
    this.background(this.init.dht.withdraw(contentIds))
    for (const [locator, mine] of this.byOrigin(contentIds)) this.background(locator.withdraw([...mine]))
    for (const id of contentIds) {
      this.origins.delete(id)
      this.found.delete(id)
    }
    await this.init.tracker.withdraw(contentIds, options)
  }

  async findProviders (contentId: ContentId, options?: AbortOptions): Promise<Provider[]> {
    return (await this.findSwarm(contentId, options)).providers
  }

  /**
   * The tracker's view, the DHT's providers, and the view of each origin
   * relay the DHT named. The DHT never holds back an answer that has a
   * holder in it: its lookup (at most one per content at a time, at most
   * one every DHT_LOOKUP_INTERVAL_MS) runs in the background and its result
   * joins the next finds (a session asks every few seconds, sooner while
   * alone). Only a find that knows no holder at all waits for it.
   */
  async findSwarm (contentId: ContentId, options?: AbortOptions): Promise<SwarmView> {
    const { tracker } = this.init
    const lookup = this.lookup(contentId)
    // read below when this find waits on it; else its failure is said through onBackgroundError
    lookup.catch(() => {})
    let view: SwarmView | undefined
    let trackerError: unknown
    try {
      view = tracker.findSwarm != null ? await tracker.findSwarm(contentId, options) : { providers: await tracker.findProviders(contentId, options) }
    } catch (err) {
      trackerError = err
    }
    let found = this.found.get(contentId)
    if ((view == null || view.providers.length === 0) && (found == null || found.providers.length === 0)) {
      // nobody known yet: this find waits for the lookup under way
      try {
        await raceAbort(lookup, options?.signal)
      } catch (err) {
        if (view == null) throw new AggregateError([trackerError, err], `Neither the tracker nor the DHT answered: ${(trackerError as Error)?.message}; ${(err as Error)?.message}`)
      }
      found = this.found.get(contentId)
    }
    // a provider a catalogue named as the content's relay is its origin, whenever the hint was given
    const hinted = this.hinted.get(contentId)
    const fromDht = (found?.providers ?? []).map(p => !p.origin && hinted?.has(p.id.toString()) === true ? { ...p, origin: true } : p)
    if (view == null && found == null) throw trackerError
    const views = [view ?? { providers: [] }]
    // the origins the DHT named that our tracker does not list: their own trackers know their swarms
    const ours = new Set((view?.providers ?? []).filter(p => p.origin).map(p => p.id.toString()))
    const foreign = fromDht.filter(p => p.origin && !ours.has(p.id.toString()) && p.multiaddrs.length > 0)
    views.push(...await Promise.all(foreign.map(async p => await this.askOrigin(contentId, p, options))))
    return merge(views, fromDht)
  }

  /** The DHT lookup of a content: the one under way, a new one when the last is old enough, else the last's. */
  private async lookup (contentId: ContentId): Promise<void> {
    const running = this.lookups.get(contentId)
    if (running != null) return await running
    const last = this.found.get(contentId)
    if (last != null && Date.now() - last.at < (this.init.dhtLookupIntervalMs ?? DHT_LOOKUP_INTERVAL_MS)) return
    const work = (async () => {
      try {
        this.found.set(contentId, { at: Date.now(), providers: await this.init.dht.findProviders(contentId) })
      } finally {
        this.lookups.delete(contentId)
      }
    })()
    this.lookups.set(contentId, work)
    // a failed lookup is tried again at the next find; a find that waits on it reads the error
    work.catch((err: Error) => this.init.onBackgroundError?.(err))
    return await work
  }

  /** Another relay's view of its own content: remembered, told what we hold of it, asked. */
  private async askOrigin (contentId: ContentId, origin: Provider, options?: AbortOptions): Promise<SwarmView> {
    if (this.init.trackerAt == null) return { providers: [] }
    const id = origin.id.toString()
    let known = this.origins.get(contentId)
    if (known == null) this.origins.set(contentId, known = new Map())
    let entry = known.get(id)
    const held = this.held.get(contentId)
    if (entry == null) {
      entry = { id, locator: this.init.trackerAt(origin.multiaddrs), toldAt: Date.now() }
      known.set(id, entry)
      if (held != null) this.background(entry.locator.announce([held]))
    }
    try {
      const signal = anySignal(options?.signal, AbortSignal.timeout(ORIGIN_TRACKER_TIMEOUT_MS))
      const locator = entry.locator
      const swarm = locator.findSwarm != null ? await locator.findSwarm(contentId, { signal }) : { providers: await locator.findProviders(contentId, { signal }) }
      const self = this.init.selfId
      if (held != null && self != null && !lists(swarm, self) && Date.now() - entry.toldAt >= (this.init.originRetellMs ?? RETELL_MS)) {
        entry.toldAt = Date.now()
        this.background(locator.announce([held]))
      }
      // the relay answers for its own library: it is the origin in its view too
      return { ...swarm, providers: [...swarm.providers, origin] }
    } catch (err) {
      this.init.onBackgroundError?.(err as Error)
      return { providers: [origin] }
    }
  }

  /** The origin trackers that take part in announcing `contentIds`, each with the contents it is the origin of. */
  private byOrigin (contentIds: ContentId[]): Map<ContentLocator, Set<ContentId>> {
    const out = new Map<ContentLocator, Set<ContentId>>()
    for (const contentId of contentIds) {
      for (const { locator } of this.origins.get(contentId)?.values() ?? []) {
        let set = out.get(locator)
        if (set == null) out.set(locator, set = new Set())
        set.add(contentId)
      }
    }
    return out
  }

  private background (work: Promise<void>): void {
    work.catch((err: Error) => this.init.onBackgroundError?.(err))
  }
}

/**
 * One view of the swarm from several: providers by peer, the first view to
 * name a peer giving what it knows (trackers first, DHT records last) and
 * the first addresses anyone gave for it; the
 * members of every tracker, once each; the downloaders the largest count.
 */
function merge (views: SwarmView[], fromDht: Provider[]): SwarmView {
  const providers = new Map<string, Provider>()
  for (const p of [...views.flatMap(v => v.providers), ...fromDht]) {
    const seen = providers.get(p.id.toString())
    if (seen == null) {
      providers.set(p.id.toString(), p)
    } else if (seen.multiaddrs.length === 0) {
      // a relay's tracker gives no address for a peer it has no reservation or TCP connection of
      // (a tab attached to another relay): its DHT record says where it can be reached
      providers.set(p.id.toString(), { ...seen, multiaddrs: p.multiaddrs })
    }
  }
  const members = new Set<string>()
  for (const v of views) {
    for (const id of v.members ?? v.providers.filter(p => !p.origin && !p.complete).map(p => p.id.toString())) members.add(id)
  }
  const counts = views.map(v => v.downloaders).filter((n): n is number => n != null)
  return {
    providers: [...providers.values()],
    members: [...members].sort(),
    downloaders: counts.length > 0 ? Math.max(...counts, members.size) : undefined
  }
}

/** Whether a tracker's view names `peer`, as a member or a provider. */
function lists (view: SwarmView, peer: string): boolean {
  return view.members?.includes(peer) === true || view.providers.some(p => p.id.toString() === peer)
}

/** `work`, or the signal's reason when it aborts first. */
async function raceAbort<T> (work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return await work
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
