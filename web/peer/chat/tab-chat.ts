import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger, PeerId } from '@libp2p/interface'
import type { ChatEvent, ChatProtocol, ChatProtocolInit, FileReceiver } from '@core/protocols/chat'
import { nameKey } from '@core/routing/names'
import type { TabNode } from '../node'
import type { ChatDb, ContactRecord, MessageRecord } from './chat-db'
import type { TabChatKeys } from './tab-keys'

/** Peers of one name dialled at most, and how long their HELLOs are awaited (the bridge's figures). */
const LOOKUP_MAX_PEERS = 5
const LOOKUP_HELLO_MS = 5_000

/** A chat peer this tab has heard from (HELLO) while connected. */
export interface ChatPeer {
  peerId: string
  name: string
  online: boolean
}

export class ChatPeerNotFoundError extends Error {
  static override name = 'ChatPeerNotFoundError'
  override name = 'ChatPeerNotFoundError'
  constructor (who: string) { super(`Peer not found: ${who}`) }
}

/** Files are not taken by a tab yet: refused with a message the sender sees. */
const noFiles: FileReceiver = {
  open: async () => { throw new Error('This peer is a browser tab: it does not take files yet') }
}

/**
 * The chat of one tab: the core's /pipbingo/chat/1.0.0 on the tab's libp2p
 * node, its keys and history in IndexedDB (chat-db.ts). Peers are found as
 * the bridges find them: by the display name each registers with the
 * relay's tracker, then trusted only for what their HELLO says. Every
 * message a tab sends is sealed: keys are negotiated before the first one,
 * and a message is never sent in clear when that fails.
 *
 * Events: `message` (a record was added or changed), `peers`, `contacts`.
 */
export class TabChat extends EventTarget {
  private readonly peers = new Map<string, ChatPeer>()
  private readonly helloWaiters = new Set<() => void>()
  private node?: TabNode

  constructor (
    private readonly db: ChatDb,
    readonly keys: TabChatKeys,
    private readonly name: () => string,
    private readonly log: Logger
  ) {
    super()
  }

  /** For the node's `chat` service. */
  protocolInit (): ChatProtocolInit {
    return { name: this.name, keys: this.keys, receiver: noFiles, onEvent: e => { void this.onEvent(e) } }
  }

  attach (node: TabNode): void {
    this.node = node
  }

  private get protocol (): ChatProtocol {
    if (this.node == null) throw new Error('The chat has no node yet')
    return this.node.services.chat
  }

  close (): void {
    this.db.close()
  }

  /** The key under which this tab registers its name with the tracker. */
  async nameKey (): Promise<string> {
    return await nameKey(this.name())
  }

  list (): ChatPeer[] {
    return [...this.peers.values()]
  }

  contacts (): ContactRecord[] {
    return this.keys.list()
  }

  /** The history, oldest first: with one peer, or all. */
  async history (peer?: string): Promise<MessageRecord[]> {
    return peer == null ? await this.db.getAll('messages') : await this.db.getAllFromIndex('messages', 'peer', peer)
  }

  /**
   * Send `text` to a peer (its peer id, or the name it announces), sealed:
   * keys are negotiated first when there is no session. The record goes
   * `sending` → `delivered` (the peer acknowledged it) or `failed`.
   */
  async send (to: string, text: string, options?: { signal?: AbortSignal }): Promise<MessageRecord> {
    const record: MessageRecord = { peer: '', direction: 'out', text, at: new Date().toISOString(), encrypted: false, state: 'sending' }
    // nobody to hold a conversation with (ChatPeerNotFoundError): said, not stored
    const peer = await this.resolve(to, options)
    record.peer = peer.toString()
    record.seq = await this.db.add('messages', record)
    this.changed(record)
    try {
      if (this.keys.session(record.peer) == null) await this.protocol.negotiateKeys(peer, options)
      const { id, encrypted } = await this.protocol.sendMessage(peer, text, options)
      if (!encrypted) throw new Error('The message went out unsealed') // cannot happen with a session: said loudly if it does
      Object.assign(record, { id, encrypted, state: 'delivered' })
    } catch (err: any) {
      Object.assign(record, { state: 'failed', error: String(err?.message ?? err) })
    }
    await this.db.put('messages', record)
    this.changed(record)
    return record
  }

  /** Negotiate keys with a peer now; resolves with the session's fingerprint. */
  async negotiate (to: string, options?: { signal?: AbortSignal }): Promise<string> {
    const peer = await this.resolve(to, options)
    return (await this.protocol.negotiateKeys(peer, options)).fingerprint
  }

  private async onEvent (e: ChatEvent): Promise<void> {
    try {
      switch (e.type) {
        case 'hello':
          this.peers.set(e.peer, { peerId: e.peer, name: e.name, online: true })
          await this.keys.greeted(e.peer, e.name, e.publicKey)
          for (const wake of [...this.helloWaiters]) wake()
          this.dispatchEvent(new Event('peers'))
          return
        case 'peer-left': {
          const p = this.peers.get(e.peer)
          if (p != null) p.online = false
          this.dispatchEvent(new Event('peers'))
          return
        }
        case 'message': {
          const record: MessageRecord = { peer: e.peer, direction: 'in', id: e.id, text: e.text, at: e.sentAt, encrypted: e.encrypted, state: 'received' }
          record.seq = await this.db.add('messages', record)
          this.changed(record)
          return
        }
        case 'keys':
          this.dispatchEvent(new Event('contacts'))
      }
    } catch (err: any) {
      this.log.error('chat event %s: %s', e.type, err?.message)
    }
  }

  private changed (record: MessageRecord): void {
    this.dispatchEvent(new CustomEvent<MessageRecord>('message', { detail: { ...record } }))
  }

  /** A peer id, the name of a peer that said hello, or a name looked up on the relay's tracker. */
  private async resolve (to: string, options?: { signal?: AbortSignal }): Promise<PeerId> {
    const known = this.byName(to)
    if (known != null) return peerIdFromString(known)
    const given = asPeerId(to)
    if (given != null) return given
    const node = this.node
    if (node == null) throw new ChatPeerNotFoundError(to)
    const found = (await node.services.tracker.findProviders(await nameKey(to), options).catch(() => []))
      .filter(p => !p.id.equals(node.peerId)).slice(0, LOOKUP_MAX_PEERS)
    if (found.length === 0) throw new ChatPeerNotFoundError(to)
    let wake = (): void => {}
    const hellos = new Promise<void>(resolve => {
      const timer = setTimeout(resolve, LOOKUP_HELLO_MS)
      wake = () => { if (found.every(p => this.peers.get(p.id.toString())?.online === true)) { clearTimeout(timer); resolve() } }
    })
    this.helloWaiters.add(wake)
    try {
      await Promise.all(found.map(async p => {
        try {
          await node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs.map(a => multiaddr(String(a))) })
          await node.dial(p.id, options)
        } catch (err: any) {
          this.log('dialling %p (registered %s) failed: %s', p.id, to, err?.message)
        }
      }))
      wake()
      await hellos
    } finally {
      this.helloWaiters.delete(wake)
    }
    const id = this.byName(to)
    if (id == null) throw new ChatPeerNotFoundError(to)
    return peerIdFromString(id)
  }

  private byName (name: string): string | undefined {
    const wanted = name.normalize('NFC')
    return [...this.peers.values()].find(p => p.online && p.name.normalize('NFC') === wanted)?.peerId
  }
}

function asPeerId (text: string): PeerId | undefined {
  try {
    return peerIdFromString(text)
  } catch {
    return undefined // a name
  }
}
