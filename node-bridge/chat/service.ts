import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Logger, PeerId } from '@libp2p/interface'
import type { ChatEvent, ChatProtocol } from '@core/protocols/chat'
import type { AbortOptions } from '@core/util/abort'
import type { ContactStore } from '../contacts/store'
import { isKemPublicKey, PREFERRED } from '@core/protocols/chat/kem'
import { lookUpName, type NameLookup } from '@core/protocols/chat/lookup'
import { P2pStoppedError, PeerNotFoundError } from './errors'
import type { ChatNotice } from './events'
import { openOutgoingFile } from './file-source'
import type { ChatKeyring } from './keyring'
import type { PeerDirectory } from './names'
import type { SendFolders } from './send-folders'

export type { NameLookup }

export interface ChatServiceInit {
  protocol: ChatProtocol
  node: { getConnections(peer?: PeerId): Connection[] }
  contacts: ContactStore
  directory: PeerDirectory
  keyring: ChatKeyring
  publish(notice: ChatNotice): void
  log: Logger
  /** Where send_file may read (`--send-dir`). */
  sendFolders: SendFolders
  /** Finds peers by display name through the network (the relay's tracker), for names no connected peer announced yet. */
  names?: NameLookup
}

export interface PeerEntry {
  name: string | null
  contact: string | null
  peer_id: string
  addresses: string[]
  connected_since: string
  chat: boolean
  encrypted: boolean
}

export interface ContactEntry {
  name: string
  peer_id: string | null
  public_key: string | null
  public_key_valid: boolean
  connected: boolean
  keys_negotiated: boolean
  fingerprint: string | null
  negotiated_at: string | null
  added_at: string
}

const now = (): string => new Date().toISOString()

/**
 * The chat as IPC clients see it: names instead of peer ids, contacts,
 * the contract's notices. Messages and files to a peer whose key is pinned
 * in a contact wait for a key negotiation first, so they are always sealed.
 */
export class ChatService {
  /** The `stun_urls` of the last `p2p start` (reported by status; see the IPC README). */
  stunUrls: string[] = []

  /** Called on each HELLO (a name lookup waits for the peers it dialled). */
  private readonly helloWaiters = new Set<() => void>()

  constructor (private readonly init: ChatServiceInit) {}

  /** The KEM key and sessions (tests reach the sealed frames' keys through it). */
  get keyring (): ChatKeyring {
    return this.init.keyring
  }

  get running (): boolean {
    return this.init.protocol.accepting
  }

  start (stunUrls?: string[]): void {
    if (stunUrls != null) this.stunUrls = stunUrls
    if (this.running) return
    this.init.protocol.accepting = true
    this.init.publish({ event: 'p2p_status', data: { running: true, timestamp: now() } })
    // say hello again to the chat peers still connected
    const peers = new Map(this.init.node.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))
    for (const peer of peers.values()) void this.init.protocol.hello(peer).catch(() => {})
  }

  stop (): void {
    if (!this.running) return
    this.init.protocol.accepting = false
    for (const p of this.init.directory.list()) this.onEvent({ type: 'peer-left', peer: p.peerId })
    this.init.publish({ event: 'p2p_status', data: { running: false, timestamp: now() } })
  }

  /** The protocol's events: the directory learns names, clients get notices. */
  onEvent (e: ChatEvent): void {
    const peer_id = e.peer
    const peer = (): string => this.init.directory.displayName(peer_id)
    switch (e.type) {
      case 'hello':
        if (this.init.directory.announce(peer_id, e.name, e.publicKey)) this.init.publish({ event: 'peer_joined', data: { peer: peer(), peer_id, timestamp: now() } })
        for (const wake of [...this.helloWaiters]) wake()
        return
      case 'peer-left': {
        const name = peer()
        if (this.init.directory.forget(peer_id) != null) this.init.publish({ event: 'peer_left', data: { peer: name, peer_id, timestamp: now() } })
        return
      }
      case 'message':
        this.init.publish({ event: 'p2p_message_received', data: { peer: peer(), message: e.text, timestamp: now() }, meta: { peer_id, id: e.id, encrypted: e.encrypted } })
        return
      case 'file-progress':
        this.init.publish({ event: 'file_progress', data: { peer: peer(), peer_id, transfer_id: e.id, file_name: e.name, direction: e.direction, bytes: e.bytes, total: e.total, percent: e.total === 0 ? 100 : Math.round((e.bytes / e.total) * 10_000) / 100, timestamp: now() } })
        return
      case 'file-received':
        this.init.publish({ event: 'file_received', data: { peer: peer(), peer_id, transfer_id: e.id, file_name: e.name, saved_as: e.savedAs, path: e.path ?? null, size: e.size, sha256: e.sha256, encrypted: e.encrypted, timestamp: now() } })
        return
      case 'file-failed':
        this.init.publish({ event: 'file_failed', data: { peer: peer(), peer_id, transfer_id: e.id, file_name: e.name, direction: e.direction, error: e.error, timestamp: now() } })
        return
      case 'keys':
        this.init.publish({ event: 'keys_negotiated', data: { peer: peer(), peer_id, fingerprint: e.fingerprint, initiator: e.initiator, timestamp: now() } })
    }
  }

  peers (): PeerEntry[] {
    const byPeer = new Map<string, Connection[]>()
    for (const c of this.init.node.getConnections()) {
      if (c.status !== 'open') continue
      const id = c.remotePeer.toString()
      byPeer.set(id, [...(byPeer.get(id) ?? []), c])
    }
    return [...byPeer.entries()].map(([id, connections]) => ({
      name: this.init.directory.get(id)?.name ?? null,
      contact: this.init.contacts.byPeer(id)?.name ?? null,
      peer_id: id,
      addresses: connections.map(c => c.remoteAddr.toString()),
      connected_since: new Date(Math.min(...connections.map(c => c.timeline.open))).toISOString(),
      chat: this.init.directory.get(id) != null,
      encrypted: this.init.keyring.session(id) != null
    }))
  }

  contacts (): ContactEntry[] {
    const connected = new Set(this.init.node.getConnections().map(c => c.remotePeer.toString()))
    return this.init.contacts.list().map(c => ({
      name: c.name,
      peer_id: c.peer_id ?? null,
      public_key: c.public_key ?? null,
      public_key_valid: isKemPublicKey(c.public_key),
      connected: c.peer_id != null && connected.has(c.peer_id),
      keys_negotiated: c.session != null,
      fingerprint: c.session?.fingerprint ?? null,
      negotiated_at: c.session?.negotiated_at ?? null,
      added_at: c.added_at
    }))
  }

  async sendMessage (name: string, text: string, options?: AbortOptions): Promise<{ peer_id: string, id: string, encrypted: boolean }> {
    const peer = await this.prepare(name, options)
    const { id, encrypted } = await this.init.protocol.sendMessage(peer, text, options)
    return { peer_id: peer.toString(), id, encrypted }
  }

  async sendFile (name: string, filePath: string, chunkSize: number, options?: AbortOptions): Promise<{ message: string, peer: string, peer_id: string, transfer_id: string, file_name: string, size: number, sha256: string, encrypted: boolean }> {
    const file = await openOutgoingFile(await this.init.sendFolders.resolve(filePath))
    const peer = await this.prepare(name, options)
    const sent = await this.init.protocol.sendFile(peer, file, { chunkSize, signal: options?.signal })
    return { message: 'File sent', peer: this.init.directory.displayName(peer.toString()), peer_id: peer.toString(), transfer_id: sent.id, file_name: file.name, size: file.size, sha256: sent.sha256, encrypted: sent.encrypted }
  }

  async negotiateKeys (name: string, options?: AbortOptions): Promise<{ message: string, peer: string, peer_id: string, fingerprint: string, algorithm: string }> {
    const peer = await this.resolveOrLookup(name, options)
    const { fingerprint } = await this.init.protocol.negotiateKeys(peer, options)
    return { message: 'Keys negotiated', peer: this.init.directory.displayName(peer.toString()), peer_id: peer.toString(), fingerprint, algorithm: `${PREFERRED.name}, HKDF-SHA256, AES-256-GCM` }
  }

  private resolve (name: string): PeerId {
    if (!this.running) throw new P2pStoppedError()
    return peerIdFromString(this.init.directory.resolve(name))
  }

  /**
   * Resolve a name among the peers that said hello; failing that, look it
   * up on the network (the tracker), dial the peers that registered it
   * (5 at most), wait for their HELLOs (5 s) and resolve again: the
   * name is what a peer announces, not what it registered.
   */
  private async resolveOrLookup (name: string, options?: AbortOptions): Promise<PeerId> {
    try {
      return this.resolve(name)
    } catch (err: any) {
      if (err?.name !== 'PeerNotFoundError' || this.init.names == null) throw err
    }
    const registered = await lookUpName(name, this.init.names, {
      greeted: peer => this.init.directory.get(peer) != null,
      onHello: wake => { this.helloWaiters.add(wake); return () => { this.helloWaiters.delete(wake) } },
      log: (format, ...args) => { this.init.log(format, ...args) }
    }, options)
    if (registered === 0) throw new PeerNotFoundError(name)
    return this.resolve(name)
  }

  /** Resolve (or look up), and negotiate keys first when the peer's key is pinned but no session exists yet. */
  private async prepare (name: string, options?: AbortOptions): Promise<PeerId> {
    const peer = await this.resolveOrLookup(name, options)
    const id = peer.toString()
    if (this.init.keyring.session(id) == null && this.init.directory.pinnedKey(id) != null) {
      this.init.log('negotiating keys with %s before sending: its key is pinned', id)
      await this.init.protocol.negotiateKeys(peer, options)
    }
    return peer
  }
}
