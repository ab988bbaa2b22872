import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ContentId } from '../content/manifest'
import type { AbortOptions } from '../util/abort'

export interface Provider {
  id: PeerId
  /** Where to dial it (each ends in /p2p/<id>); circuit addresses for browsers. */
  multiaddrs: Multiaddr[]
  /** Holds every chunk (a seeder) rather than part of the content. */
  complete: boolean
  /** The origin (the relay's own library): use it last, others first. */
  origin: boolean
}

export interface Announcement {
  contentId: ContentId
  complete: boolean
}

/** What a locator knows of a content's swarm beyond the holders to dial. */
export interface SwarmView {
  providers: Provider[]
  /**
   * The ids of every peer still downloading it (this one included), when the
   * locator knows them: a crowd's members split the origin's chunks among
   * themselves by this list. Absent, a session uses the providers it got.
   */
  members?: string[]
  /** How many peers are downloading it, when known (the list may be capped). */
  downloaders?: number
}

/**
 * How a peer finds who holds a content and tells others what it holds. The
 * relay's tracker implements it today; a Kademlia DHT
 * (provide/findProviders) can implement it when one relay is not enough.
 */
export interface ContentLocator {
  announce(entries: Announcement[], options?: AbortOptions): Promise<void>
  withdraw(contentIds: ContentId[], options?: AbortOptions): Promise<void>
  findProviders(contentId: ContentId, options?: AbortOptions): Promise<Provider[]>
  /** The holders and, where the locator knows them, the swarm's members (a tracker does; a DHT would not). */
  findSwarm?(contentId: ContentId, options?: AbortOptions): Promise<SwarmView>
}
