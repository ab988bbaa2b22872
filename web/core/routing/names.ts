import type { PeerId, PeerStore } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { ContentId } from '../content/manifest'
import type { NameLookup } from '../protocols/chat/lookup'
import type { AbortOptions } from '../util/abort'
import { toHex } from '../util/hex'
import { sha256 } from '../util/sha256'
import type { Provider } from './types'

/**
 * The key under which a chat peer registers its display name with the
 * tracker (a relay's, and any ContentLocator): the SHA-256 of a prefix and
 * the name in NFC, so it lives in the content-id namespace, with the
 * tracker's limits, and no content id is one by chance. A lookup gives the
 * peers that registered the name; what each calls itself is then checked
 * in its HELLO, so a peer that registers a name it does not announce
 * gains nothing.
 */
export async function nameKey (name: string): Promise<ContentId> {
  return toHex(await sha256(new TextEncoder().encode(`pipbingo/name/1\u0000${name.normalize('NFC')}`))) as ContentId
}

/** What trackerNameLookup needs of a libp2p node (a bridge's or a tab's). */
export interface NamedNode {
  peerId: PeerId
  peerStore: PeerStore
  dial(peer: PeerId, options?: AbortOptions): Promise<unknown>
  services: { tracker: { findProviders(key: ContentId, options?: AbortOptions): Promise<Provider[]> } }
}

/**
 * Names through the relay's tracker: the peers that registered a name
 * (this node left out), dialled at the addresses the tracker gave them.
 */
export function trackerNameLookup (node: NamedNode): NameLookup {
  return {
    find: async (name, options) => (await node.services.tracker.findProviders(await nameKey(name), options))
      .filter(p => !p.id.equals(node.peerId))
      .map(p => ({ peerId: p.id.toString(), addrs: p.multiaddrs.map(String) })),
    connect: async (peerId, addrs, options) => {
      const id = peerIdFromString(peerId)
      await node.peerStore.merge(id, { multiaddrs: addrs.map(a => multiaddr(a)) })
      await node.dial(id, options)
    }
  }
}
