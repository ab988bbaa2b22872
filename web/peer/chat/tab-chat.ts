import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger, PeerId } from '@libp2p/interface'
import type { ChatEvent, ChatProtocol, ChatProtocolInit, FileOffer, FileReceiver, FrameTap, IncomingFile, OutgoingFile } from '@core/protocols/chat'
import type { ContentId } from '@core/content/manifest'
import { randomId } from '@core/protocols/chat/util'
import { lookUpName } from '@core/protocols/chat/lookup'
import { nameKey, trackerNameLookup } from '@core/routing/names'
import type { TabNode } from '../node'
import { piecesOf, type ChatDb, type ContactRecord, type MessageRecord } from './chat-db'
import { PeerRateLimit } from './rate-limit'
import type { TabChatKeys } from './tab-keys'

/** A chat peer this tab has heard from (HELLO) while connected. */
export interface ChatPeer {
  peerId: string
  name: string
  online: boolean
  /** When its last HELLO came (ms since the epoch). */
  seenAt: number
}

export class ChatPeerNotFoundError extends Error {
  static override name = 'ChatPeerNotFoundError'
  override name = 'ChatPeerNotFoundError'
  constructor (who: string) { super(`Peer not found: ${who}`) }
}

/**
 * The largest file a tab sends or takes: a file being received is held in
 * memory until its SHA-256 is checked, then kept in IndexedDB as a Blob.
 */
export const TAB_MAX_FILE_BYTES = 256 * 1024 * 1024

/** A received file's name as the tab offers it for download: one path segment, no control characters. */
export function safeFileName (claimed: string): string {
  // eslint-disable-next-line no-control-regex
  const name = claimed.split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '').replace(/^[.\s]+/, '').trim().slice(0, 200)
  return name === '' ? 'file' : name
}

/** Progress of a file transfer (not kept: the record is, at its start and end). */
export interface FileProgress {
  seq: number
  bytes: number
  total: number
}

/**
 * The chat of one tab: the core's /pipbingo/chat/1.0.0 on the tab's libp2p
 * node, its keys and history in IndexedDB (chat-db.ts). Peers are found as
 * the bridges find them: by the display name each registers with the
 * relay's tracker, then trusted only for what their HELLO says. Every
 * message a tab sends is sealed: keys are negotiated before the first one,
 * and a message is never sent in clear when that fails.
 *
 * Files go both ways, up to TAB_MAX_FILE_BYTES, over a direct connection
 * only (a relayed one would cut them: the protocol refuses); what arrives
 * is checked (SHA-256) before it is kept, then offered for download.
 *
 * Events: `message` (a record was added or changed), `file-progress`
 * (FileProgress), `peers`, `contacts`, `cleared` (a conversation was
 * deleted: the peer id).
 */
export class TabChat extends EventTarget {
  private readonly peers = new Map<string, ChatPeer>()
  private readonly helloWaiters = new Set<() => void>()
  /** Files being received: `<peer>/<transfer id>` (ids are the sender's: unique only per peer) → their record. */
  private readonly incoming = new Map<string, MessageRecord>()
  private readonly rate = new PeerRateLimit()
  /** Files being sent, or failed and not sent again yet, by record: what Retry sends (for this page's life only). */
  private readonly outgoingFiles = new Map<number, File>()
  /** When each peer was last said to have sent something refused, by kind (one notice a minute at most). */
  private readonly limitedSaid = new Map<string, number>()
  private node?: TabNode

  constructor (
    private readonly db: ChatDb,
    readonly keys: TabChatKeys,
    private readonly name: () => string,
    private readonly log: Logger,
    /** Sees every chat frame as it crosses a stream (after sealing, before opening): diagnostics and tests. */
    private readonly tap?: FrameTap
  ) {
    super()
  }

  /** For the node's `chat` service. */
  protocolInit (): ChatProtocolInit {
    const receiver: FileReceiver = { open: async offer => await this.receive(offer) }
    return { name: this.name, keys: this.keys, receiver, maxFileBytes: TAB_MAX_FILE_BYTES, admit: peer => this.rate.admit(peer), tap: this.tap, onEvent: e => { void this.onEvent(e) } }
  }

  /**
   * At start, before any transfer: what a closed page left under way is
   * failed (a message or file being sent, a file being received: its
   * pieces are dropped). Nothing is lost silently: each says it was
   * interrupted, and a message can be sent again.
   */
  async recover (): Promise<void> {
    const tx = this.db.transaction(['messages', 'pieces'], 'readwrite')
    const messages = tx.objectStore('messages')
    for (const state of ['sending', 'receiving'] as const) {
      for (const record of await messages.index('state').getAll(state)) {
        await messages.put({ ...record, state: 'failed', error: 'Interrupted: the page closed before it finished' })
      }
    }
    await tx.objectStore('pieces').clear()
    await tx.done
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

  /**
   * Pin the new key a contact showed (TabChatKeys.trustNewKey), and say so
   * in the conversation: the next message negotiates keys with it.
   */
  async trustNewKey (peer: string): Promise<void> {
    const contact = await this.keys.trustNewKey(peer)
    this.dispatchEvent(new Event('contacts'))
    const text = `You trusted ${contact.name || 'this peer'}'s new key. Compare the fingerprint shown once keys are negotiated with the one they see`
    const notice: MessageRecord = { peer, direction: 'out', text, at: new Date().toISOString(), encrypted: false, state: 'delivered', notice: true }
    notice.seq = await this.db.add('messages', notice)
    this.changed(notice)
  }

  /**
   * Delete the conversation with a peer from this browser: its messages,
   * notices and received files. The contact (its pinned key, the session)
   * stays: a conversation started again is still end-to-end encrypted, and
   * a changed key is still flagged. Refused while a message or file with
   * the peer is under way (a transfer that ends would write its record back).
   */
  async deleteConversation (peer: string): Promise<number> {
    const tx = this.db.transaction(['messages', 'files', 'pieces'], 'readwrite')
    const records = await tx.objectStore('messages').index('peer').getAll(peer)
    if (records.some(r => r.state === 'sending' || r.state === 'receiving')) {
      tx.abort()
      await tx.done.catch(() => {})
      throw new Error('A message or file to or from this peer is still under way: delete the conversation once it is done')
    }
    for (const r of records) {
      await tx.objectStore('messages').delete(r.seq!)
      if (r.file != null) {
        await tx.objectStore('files').delete(String(r.seq))
        await tx.objectStore('pieces').delete(piecesOf(r.seq!))
      }
    }
    await tx.done
    for (const r of records) if (r.seq != null) this.outgoingFiles.delete(r.seq)
    this.dispatchEvent(new CustomEvent<string>('cleared', { detail: peer }))
    return records.length
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
    // to a peer id: in the conversation at once, while the peer is found; to a name nobody
    // answers to (ChatPeerNotFoundError): said, not stored
    const peer = asPeerId(to) ?? await this.resolve(to, options)
    // its protocol id from the start: a retry sends the same, and a peer that got the first try drops the copy
    const record: MessageRecord = { peer: peer.toString(), direction: 'out', id: randomId(), text, at: new Date().toISOString(), encrypted: false, state: 'sending' }
    record.seq = await this.db.add('messages', record)
    return await this.deliver(record, options)
  }

  /**
   * Send a file (sealed, like messages): refused here when it is larger
   * than TAB_MAX_FILE_BYTES, and by the protocol when only a relayed
   * connection reaches the peer. The record goes `sending` → `delivered`
   * (with the SHA-256 the receiver checked) or `failed`.
   */
  async sendFile (to: string, file: File, options?: { signal?: AbortSignal }): Promise<MessageRecord> {
    if (file.size > TAB_MAX_FILE_BYTES) throw new RangeError(`${file.name} is ${file.size} bytes: a tab sends files of at most ${TAB_MAX_FILE_BYTES / 1024 / 1024} MiB`)
    const peer = await this.resolve(to, options)
    const record: MessageRecord = { peer: peer.toString(), direction: 'out', text: '', at: new Date().toISOString(), encrypted: false, state: 'sending', file: { name: file.name, size: file.size } }
    record.seq = await this.db.add('messages', record)
    this.outgoingFiles.set(record.seq, file)
    return await this.deliver(record, options)
  }

  /** The bytes of a file received, as kept (undefined when there are none). */
  async fileBlob (seq: number): Promise<Blob | undefined> {
    return await this.db.get('files', String(seq))
  }

  /** An offer the protocol accepted (size within the cap, a direct connection): a record, and the bytes in memory until checked. */
  private async receive (offer: FileOffer): Promise<IncomingFile> {
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined)
    if (estimate?.quota != null && estimate.usage != null && offer.size > estimate.quota - estimate.usage) {
      throw new Error(`This browser has no room for ${offer.size} more bytes`)
    }
    const record: MessageRecord = {
      peer: offer.peer, direction: 'in', text: '', at: new Date().toISOString(), encrypted: this.keys.session(offer.peer) != null, state: 'receiving',
      file: { transferId: offer.id, name: safeFileName(offer.name), size: offer.size }
    }
    const seq = record.seq = await this.db.add('messages', record)
    this.incoming.set(`${offer.peer}/${offer.id}`, record)
    this.changed(record)
    // to IndexedDB as the bytes arrive, a piece at a time: a tab never holds a whole file in memory
    let buffered: Uint8Array[] = []
    let bufferedBytes = 0
    let pieces = 0
    const flush = async (): Promise<void> => {
      if (bufferedBytes === 0) return
      const piece = new Blob(buffered as BlobPart[])
      buffered = []
      bufferedBytes = 0
      await this.db.put('pieces', piece, [seq, pieces++])
    }
    return {
      write: async chunk => {
        buffered.push(chunk.slice())
        bufferedBytes += chunk.byteLength
        if (bufferedBytes >= PIECE_BYTES) await flush()
      },
      finish: async () => {
        await flush()
        // under this tab's own key: a sender that reuses a transfer id cannot replace another file's bytes
        const tx = this.db.transaction(['pieces', 'files'], 'readwrite')
        const whole = new Blob(await tx.objectStore('pieces').getAll(piecesOf(seq)))
        await tx.objectStore('files').put(whole, String(seq))
        await tx.objectStore('pieces').delete(piecesOf(seq))
        await tx.done
        return { savedAs: record.file!.name }
      },
      abort: async () => {
        buffered = []
        await this.db.delete('pieces', piecesOf(seq))
      }
    }
  }

  private progress (p: FileProgress): void {
    this.dispatchEvent(new CustomEvent<FileProgress>('file-progress', { detail: p }))
  }

  /**
   * Send a failed message or file again (the same record; a message keeps
   * its protocol id). A file can be sent again only while this page still
   * has it (not after a reload: its bytes are not kept).
   */
  async retry (seq: number, options?: { signal?: AbortSignal }): Promise<MessageRecord> {
    const record = await this.db.get('messages', seq)
    if (record == null || record.direction !== 'out' || record.state !== 'failed' || record.notice === true) throw new Error('No failed message to send again')
    if (!this.canRetry(record)) throw new Error(`This page no longer has ${record.file?.name ?? 'the file'}: attach it again`)
    const { error: _, ...rest } = record
    const again: MessageRecord = { ...rest, state: 'sending' }
    await this.db.put('messages', again)
    return await this.deliver(again, options)
  }

  /** Whether Retry can send this failed record again (a file: while this page still has its bytes). */
  canRetry (record: MessageRecord): boolean {
    if (record.direction !== 'out' || record.notice === true) return false
    return record.file == null || (record.seq != null && this.outgoingFiles.has(record.seq))
  }

  /** Send a record (a message, or a file this page holds), sealed: `sending` → `delivered` or `failed`, said and kept at each step. */
  private async deliver (record: MessageRecord, options?: { signal?: AbortSignal }): Promise<MessageRecord> {
    this.changed(record)
    const seq = record.seq!
    try {
      const peer = await this.resolve(record.peer, options)
      if (this.keys.session(record.peer) == null) await this.protocol.negotiateKeys(peer, options)
      if (record.file != null) {
        const file = this.outgoingFiles.get(seq)
        if (file == null) throw new Error(`This page no longer has ${record.file.name}: attach it again`)
        const sent = await this.protocol.sendFile(peer, outgoingFile(file), {
          chunkSize: FILE_CHUNK_BYTES,
          signal: options?.signal,
          onProgress: bytes => { this.progress({ seq, bytes, total: file.size }) }
        })
        if (!sent.encrypted) throw new Error('The file went out unsealed')
        Object.assign(record, { encrypted: true, state: 'delivered', file: { ...record.file, transferId: sent.id, sha256: sent.sha256 } })
        this.outgoingFiles.delete(seq)
      } else {
        const { id, encrypted } = await this.protocol.sendMessage(peer, record.text, { signal: options?.signal, id: record.id })
        if (!encrypted) throw new Error('The message went out unsealed') // cannot happen with a session: said loudly if it does
        Object.assign(record, { id, encrypted, state: 'delivered' })
      }
    } catch (err: any) {
      Object.assign(record, { state: 'failed', error: String(err?.message ?? err) })
    }
    await this.db.put('messages', record)
    this.changed(record)
    return record
  }

  /**
   * The peers that hold a content (the tracker's providers: the viewers of a
   * video), this tab and `exclude` (the relay: it does not chat) left out,
   * with the name each said in its HELLO when it did. Their addresses go to
   * the peer store, so that a message to one of them can dial it.
   */
  async viewers (contentId: string, exclude: string[], options?: { signal?: AbortSignal }): Promise<Array<{ peerId: string, name?: string }>> {
    const node = this.node
    if (node == null) return []
    const found = (await node.services.tracker.findProviders(contentId as ContentId, options))
      .filter(p => !p.id.equals(node.peerId) && !exclude.includes(p.id.toString()))
    await Promise.all(found.map(async p => { await node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs.map(a => multiaddr(String(a))) }) }))
    return found.map(p => ({ peerId: p.id.toString(), name: this.peers.get(p.id.toString())?.name }))
  }

  /** A libp2p ping to a peer (over the connection the chat would use), in ms: the bench's baseline for a message's round trip. */
  async ping (to: string, options?: { signal?: AbortSignal }): Promise<number> {
    if (this.node == null) throw new ChatPeerNotFoundError(to)
    return await this.node.services.ping.ping(await this.resolve(to, options), options)
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
          this.peers.set(e.peer, { peerId: e.peer, name: e.name, online: true, seenAt: Date.now() })
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
          // `at` is when it arrived: the sender's sent_at is its claim (any string of up to 40 characters)
          const record: MessageRecord = { peer: e.peer, direction: 'in', id: e.id, text: e.text, at: new Date().toISOString(), encrypted: e.encrypted, state: 'received' }
          record.seq = await this.db.add('messages', record)
          this.changed(record)
          return
        }
        case 'keys':
          this.dispatchEvent(new Event('contacts'))
          return
        case 'refused': {
          // said in the conversation, never shown as a message: its bytes could not be trusted
          // once a minute at most per peer and kind: a peer cannot fill the history with notices
          const kind = `${e.peer}/${e.code}`
          if (Date.now() - (this.limitedSaid.get(kind) ?? 0) < 60_000) return
          this.limitedSaid.set(kind, Date.now())
          if (this.limitedSaid.size > 1024) this.limitedSaid.clear()
          const error = e.code === 'rate_limited'
            ? 'This peer sent too much too fast: what it sent over the limit was refused'
            : `Something from this peer could not be opened and was refused (${e.error})`
          const notice: MessageRecord = { peer: e.peer, direction: 'in', text: '', at: new Date().toISOString(), encrypted: false, state: 'failed', error, notice: true }
          notice.seq = await this.db.add('messages', notice)
          this.changed(notice)
          return
        }
        case 'file-progress': {
          const record = e.direction === 'in' ? this.incoming.get(`${e.peer}/${e.id}`) : undefined
          if (record?.seq != null) this.progress({ seq: record.seq, bytes: e.bytes, total: e.total })
          return
        }
        case 'file-received':
        case 'file-failed': {
          if (e.type === 'file-failed' && e.direction === 'out') return // the sender's record says it (sendFile)
          const key = `${e.peer}/${e.id}`
          const record = this.incoming.get(key)
          if (record == null) return
          this.incoming.delete(key)
          if (e.type === 'file-received') Object.assign(record, { state: 'received', encrypted: e.encrypted, file: { ...record.file, sha256: e.sha256 } })
          else Object.assign(record, { state: 'failed', error: e.error })
          await this.db.put('messages', record)
          this.changed(record)
        }
      }
    } catch (err: any) {
      this.log.error('chat event %s: %s', e.type, err?.message)
    }
  }

  private changed (record: MessageRecord): void {
    this.dispatchEvent(new CustomEvent<MessageRecord>('message', { detail: { ...record } }))
  }

  /**
   * A peer id, the name of a peer that said hello, or a name looked up on
   * the relay's tracker. A peer id with no connection (after a reload, say)
   * is looked up under the name it last said, so that it can be dialled.
   */
  private async resolve (to: string, options?: { signal?: AbortSignal }): Promise<PeerId> {
    const known = this.byName(to)
    if (known != null) return peerIdFromString(known)
    const given = asPeerId(to)
    if (given != null) {
      const name = this.peers.get(to)?.name ?? this.keys.contact(to)?.name
      if (this.node != null && this.node.getConnections(given).length === 0 && name != null && name !== '') await this.lookup(name, options)
      return given
    }
    await this.lookup(to, options)
    const id = this.byName(to)
    if (id == null) throw new ChatPeerNotFoundError(to)
    return peerIdFromString(id)
  }

  /** The peers that registered `name` with the tracker, dialled; their HELLOs awaited (core's lookUpName). */
  private async lookup (name: string, options?: { signal?: AbortSignal }): Promise<void> {
    if (this.node == null) return
    await lookUpName(name, trackerNameLookup(this.node), {
      greeted: peer => this.peers.get(peer)?.online === true,
      onHello: wake => { this.helloWaiters.add(wake); return () => { this.helloWaiters.delete(wake) } },
      log: this.log
    }, options)
  }

  /**
   * The online peer that says it is `name`. Names are claims: when several
   * say the same, one whose key this tab negotiated with goes first (its
   * messages are sealed to that key), then the latest HELLO (a tab that
   * went away may look online until its connection times out).
   */
  private byName (name: string): string | undefined {
    const wanted = name.normalize('NFC')
    const candidates = [...this.peers.values()].filter(p => p.online && p.name.normalize('NFC') === wanted)
    const keyed = (p: ChatPeer): number => this.keys.session(p.peerId) != null ? 1 : 0
    return candidates.sort((a, b) => keyed(b) - keyed(a) || b.seenAt - a.seenAt)[0]?.peerId
  }

}

/** Pieces a tab sends a file in (the protocol's default, what the bridge's CLI sends). */
const FILE_CHUNK_BYTES = 64 * 1024
/** A file being received goes to IndexedDB in pieces of this size. */
const PIECE_BYTES = 4 * 1024 * 1024

/** A File picked in the page, read piece by piece. */
function outgoingFile (file: File): OutgoingFile {
  return {
    name: file.name,
    size: file.size,
    async * chunks (chunkSize: number, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < file.size; at += chunkSize) {
        options?.signal?.throwIfAborted()
        yield new Uint8Array(await file.slice(at, Math.min(file.size, at + chunkSize)).arrayBuffer())
      }
    }
  }
}

function asPeerId (text: string): PeerId | undefined {
  try {
    return peerIdFromString(text)
  } catch {
    return undefined // a name
  }
}
