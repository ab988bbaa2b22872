import type { Multiaddr } from '@multiformats/multiaddr'
import type { ContentId } from '@core/content/manifest'
import { TrackerClient, type TrackerClientComponents } from '@core/protocols/tracker/client'
import { TrackerUnreachableError } from '@core/protocols/tracker/errors'
import type { Announcement, ContentLocator, Provider, SwarmView } from '@core/routing/types'
import type { AbortOptions } from '@core/util/abort'

/**
 * The relay's tracker, whose address the bridge may learn only after its
 * node has started (from the relay's `/info`, once the relay is up) and
 * which may change (the relay restarted on another port). Until an address
 * is set every call fails with TrackerUnreachableError, which the Announcer
 * retries and the swarm session treats as "no peers yet".
 */
export class RelayTracker implements ContentLocator {
  private client?: TrackerClient
  private addr?: string

  constructor (private readonly components: TrackerClientComponents) {}

  setRelay (addr: Multiaddr): void {
    if (addr.toString() === this.addr) return
    this.addr = addr.toString()
    this.client = new TrackerClient(this.components, { tracker: addr })
  }

  /** A client of another relay's tracker (the origin of a content found through the DHT). */
  at (tracker: Multiaddr[]): ContentLocator {
    return new TrackerClient(this.components, { tracker })
  }

  async announce (entries: Announcement[], options?: AbortOptions): Promise<void> {
    await this.current().announce(entries, options)
  }

  async withdraw (contentIds: ContentId[], options?: AbortOptions): Promise<void> {
    await this.current().withdraw(contentIds, options)
  }

  async findProviders (contentId: ContentId, options?: AbortOptions): Promise<Provider[]> {
    return await this.current().findProviders(contentId, options)
  }

  async findSwarm (contentId: ContentId, options?: AbortOptions): Promise<SwarmView> {
    return await this.current().findSwarm(contentId, options)
  }

  private current (): TrackerClient {
    if (this.client == null) throw new TrackerUnreachableError('The relay\'s address is not known yet')
    return this.client
  }
}

/** A libp2p service: `services: { tracker: relayTracker() }`, then `setRelay(addr)`. */
export function relayTracker (): (components: TrackerClientComponents) => RelayTracker {
  return (components) => new RelayTracker(components)
}
