import { peerIdFromString } from '@libp2p/peer-id'
import type { ContactStore } from '../contacts/store'
import { toBase64 } from '../crypto/base64'
import { isKemPublicKey } from '@core/protocols/chat/kem'
import { AmbiguousPeerError, PeerNotFoundError } from './errors'

export interface AnnouncedPeer {
  peerId: string
  name: string
  /** The KEM public key it announced (base64). */
  publicKey?: string
  /** When it said hello (ms since the epoch). */
  since: number
}

/**
 * Who is who: the names and KEM keys connected chat peers announced in
 * HELLO, and name resolution. A `peer` from an IPC client resolves
 * through the contacts first (a contact bound to a peer id, or a contact
 * whose public key a connected peer announced — such a contact owns its
 * name even while its peer is away), then through the names connected
 * peers announced, then as a literal peer id; else `Peer not found: <name>`.
 */
export class PeerDirectory {
  private readonly peers = new Map<string, AnnouncedPeer>()

  constructor (private readonly contacts: ContactStore) {}

  /** Record a HELLO; true when the peer is new (a join). */
  announce (peerId: string, name: string, publicKey?: Uint8Array): boolean {
    const known = this.peers.get(peerId)
    this.peers.set(peerId, { peerId, name, publicKey: publicKey == null ? undefined : toBase64(publicKey), since: known?.since ?? Date.now() })
    return known == null
  }

  forget (peerId: string): AnnouncedPeer | undefined {
    const known = this.peers.get(peerId)
    this.peers.delete(peerId)
    return known
  }

  get (peerId: string): AnnouncedPeer | undefined {
    return this.peers.get(peerId)
  }

  list (): AnnouncedPeer[] {
    return [...this.peers.values()]
  }

  /** The name to show for a peer: its contact's, else the one it announced, else its id. */
  displayName (peerId: string): string {
    return this.contacts.byPeer(peerId)?.name ?? this.peers.get(peerId)?.name ?? peerId
  }

  /** The KEM key a peer must present in key negotiation, when one is pinned (a contact's). */
  pinnedKey (peerId: string): string | undefined {
    const bound = this.contacts.byPeer(peerId)
    if (isKemPublicKey(bound?.public_key)) return bound?.public_key
    const announced = this.peers.get(peerId)?.publicKey
    if (announced == null) return undefined
    return this.contacts.list().find(c => c.peer_id == null && c.public_key === announced)?.public_key
  }

  resolve (name: string): string {
    const contact = this.contacts.get(name)
    if (contact?.peer_id != null) return contact.peer_id
    if (isKemPublicKey(contact?.public_key)) {
      // the contact's key says who it is: no other peer may take the name
      const holder = this.list().find(p => p.publicKey === contact?.public_key)
      if (holder != null) return holder.peerId
      throw new PeerNotFoundError(name)
    }
    const named = this.list().filter(p => p.name === name)
    if (named.length === 1) return (named[0] as AnnouncedPeer).peerId
    if (named.length > 1) throw new AmbiguousPeerError(name, named.map(p => p.peerId))
    if (looksLikePeerId(name)) return name
    throw new PeerNotFoundError(name)
  }
}

function looksLikePeerId (text: string): boolean {
  if (!/^(12D3KooW|Qm|16U)[1-9A-HJ-NP-Za-km-z]+$/.test(text)) return false
  try {
    peerIdFromString(text)
    return true
  } catch {
    return false
  }
}
