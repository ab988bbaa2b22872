import type { ContactRecord, MessageRecord } from '../../peer/chat/chat-db'
import type { ChatPeer, FileProgress, TabChat } from '../../peer/chat/tab-chat'

/** One conversation as the Chat page lists it. */
export interface Conversation {
  peerId: string
  name: string
  online: boolean
  messages: MessageRecord[]
  unread: number
  /** The session's fingerprint, once keys were negotiated. */
  fingerprint: string | null
  /** The peer announced or offered a key that is not the pinned one. */
  keyChanged: boolean
}

/**
 * The tab's chat as Svelte sees it: conversations (from the history in
 * IndexedDB, kept up to date by the chat's events), who is online, unread
 * counts (what was read is remembered per profile in localStorage).
 */
export class ChatState {
  messages = $state.raw<MessageRecord[]>([])
  peers = $state.raw<ChatPeer[]>([])
  contacts = $state.raw<ContactRecord[]>([])
  /** seq of the last message read, per peer. */
  read = $state.raw<Record<string, number>>({})
  /** Bytes so far of the files being sent or received, by record. */
  progress = $state.raw<Record<number, FileProgress>>({})
  error = $state<string | undefined>(undefined)
  chat = $state.raw<TabChat | undefined>(undefined)
  private profile = ''

  async attach (chat: TabChat, profile: string): Promise<void> {
    this.profile = profile
    try {
      this.read = JSON.parse(localStorage.getItem(this.readKey) ?? '{}') as Record<string, number>
    } catch {
      this.read = {}
    }
    chat.addEventListener('message', e => {
      const record = (e as CustomEvent<MessageRecord>).detail
      const others = this.messages.filter(m => m.seq !== record.seq)
      this.messages = [...others, record].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
    })
    chat.addEventListener('file-progress', e => {
      const p = (e as CustomEvent<FileProgress>).detail
      this.progress = { ...this.progress, [p.seq]: p }
    })
    chat.addEventListener('cleared', e => {
      const peer = (e as CustomEvent<string>).detail
      this.messages = this.messages.filter(m => m.peer !== peer)
    })
    chat.addEventListener('peers', () => { this.peers = chat.list() })
    chat.addEventListener('contacts', () => { this.contacts = chat.contacts() })
    this.messages = await chat.history()
    this.peers = chat.list()
    this.contacts = chat.contacts()
    this.chat = chat
  }

  private get readKey (): string {
    return `pipbingo:${this.profile}:chat-read`
  }

  get conversations (): Conversation[] {
    const byPeer = new Map<string, Conversation>()
    const conversation = (peerId: string): Conversation => {
      let c = byPeer.get(peerId)
      if (c == null) {
        const contact = this.contacts.find(x => x.peerId === peerId)
        const peer = this.peers.find(p => p.peerId === peerId)
        c = {
          peerId,
          name: peer?.name ?? contact?.name ?? `peer-${peerId.slice(-8)}`,
          online: peer?.online === true,
          messages: [],
          unread: 0,
          fingerprint: contact?.session?.fingerprint ?? null,
          keyChanged: contact?.keyChanged != null
        }
        byPeer.set(peerId, c)
      }
      return c
    }
    for (const m of this.messages) {
      const c = conversation(m.peer)
      c.messages.push(m)
      if (m.direction === 'in' && m.notice !== true && (m.seq ?? 0) > (this.read[m.peer] ?? 0)) c.unread++
    }
    for (const p of this.peers) if (p.online) conversation(p.peerId)
    // the latest activity first; people online with no message yet after them
    const last = (c: Conversation): number => c.messages.at(-1)?.seq ?? 0
    return [...byPeer.values()].sort((a, b) => last(b) - last(a) || a.name.localeCompare(b.name))
  }

  get unread (): number {
    return this.conversations.reduce((n, c) => n + c.unread, 0)
  }

  markRead (peerId: string): void {
    const seqs = this.messages.filter(m => m.peer === peerId).map(m => m.seq ?? 0)
    const top = Math.max(0, ...seqs)
    if ((this.read[peerId] ?? 0) >= top) return
    this.read = { ...this.read, [peerId]: top }
    localStorage.setItem(this.readKey, JSON.stringify(this.read))
  }

  async send (to: string, text: string): Promise<MessageRecord | undefined> {
    this.error = undefined
    try {
      return await this.chat?.send(to, text)
    } catch (err: any) {
      this.error = String(err?.message ?? err)
      return undefined
    }
  }

  async sendFile (to: string, file: File): Promise<void> {
    this.error = undefined
    try {
      await this.chat?.sendFile(to, file)
    } catch (err: any) {
      this.error = String(err?.message ?? err)
    }
  }

  /** Offer a received file to the browser's downloads, under the name the tab gave it. */
  async save (record: MessageRecord): Promise<void> {
    const blob = record.seq == null ? undefined : await this.chat?.fileBlob(record.seq)
    if (blob == null) {
      this.error = `The bytes of ${record.file?.name ?? 'this file'} are no longer in this browser`
      return
    }
    const url = URL.createObjectURL(blob)
    const a = document.createElement('a')
    a.href = url
    a.download = record.file?.name ?? 'file'
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => { URL.revokeObjectURL(url) }, 60_000)
  }

  /** Delete a conversation from this browser (the page asked the person to confirm first); true when done. */
  async deleteConversation (peerId: string): Promise<boolean> {
    this.error = undefined
    try {
      await this.chat?.deleteConversation(peerId)
      return true
    } catch (err: any) {
      this.error = String(err?.message ?? err)
      return false
    }
  }

  /** Pin the new key a contact showed (the page asked the person to confirm first). */
  async trustNewKey (peerId: string): Promise<void> {
    this.error = undefined
    try {
      await this.chat?.trustNewKey(peerId)
    } catch (err: any) {
      this.error = String(err?.message ?? err)
    }
  }

  /** Whether Retry can send this failed record again (a file only while this page still has it). */
  canRetry (record: MessageRecord): boolean {
    return this.chat?.canRetry(record) ?? false
  }

  async retry (seq: number): Promise<void> {
    this.error = undefined
    try {
      await this.chat?.retry(seq)
    } catch (err: any) {
      this.error = String(err?.message ?? err)
    }
  }
}
