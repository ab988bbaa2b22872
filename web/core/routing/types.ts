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

/**
 * How a peer finds who holds a content and tells others what it holds. The
 * relay's tracker implements it today; a Kademlia DHT
 * (provide/findProviders) can implement it when one relay is not enough.
 */
export interface ContentLocator {
  announce(entries: Announcement[], options?: AbortOptions): Promise<void>
  withdraw(contentIds: ContentId[], options?: AbortOptions): Promise<void>
  findProviders(contentId: ContentId, options?: AbortOptions): Promise<Provider[]>
}
