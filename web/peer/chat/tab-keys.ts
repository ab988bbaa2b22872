import { toBase64 } from '@core/protocols/chat/base64'
import { PREFERRED, suiteForPublicKey, suiteForSecretKey, type KemSuite } from '@core/protocols/chat/kem'
import { ciphersOf, deriveSessionKey, directionKeys } from '@core/protocols/chat/session-keys'
import type { ChatKeys, Handshake, SessionCiphers } from '@core/protocols/chat/types'
import { ChatKeyChangedError, ChatKeyInvalidError, ChatNoChangedKeyError } from '../errors'
import type { ChatDb, ContactRecord } from './chat-db'

/**
 * ChatKeys for a tab, the bridge's rules (node-bridge/chat/keyring.ts) over
 * IndexedDB: the profile's long-term KEM key (X-Wing), the key of each
 * peer pinned at the first negotiation, and each session's ciphers. A peer
 * that later offers another key is refused and flagged (`keyChanged`), so
 * the page can warn: a changed key is what an impostor would show.
 */
export class TabChatKeys implements ChatKeys {
  private readonly contacts = new Map<string, ContactRecord>()
  private readonly ciphers = new Map<string, SessionCiphers>()

  private constructor (
    private readonly db: ChatDb,
    private readonly self: string,
    private readonly suite: KemSuite,
    private readonly secretKey: Uint8Array,
    private readonly ownPublicKey: Uint8Array,
    private readonly onContact: (contact: ContactRecord) => void
  ) {}

  /** The profile's key (made and saved the first time) and its contacts. */
  static async open (db: ChatDb, self: string, onContact: (contact: ContactRecord) => void = () => {}): Promise<TabChatKeys> {
    let secretKey = (await db.get('identity', 'kem'))?.secretKey
    let suite = secretKey == null ? undefined : suiteForSecretKey(secretKey)
    if (secretKey == null || suite == null) {
      // none yet, or one no suite reads: a fresh key (peers that pinned the old one will see a changed key)
      suite = PREFERRED
      secretKey = suite.kem.keygen().secretKey
      await db.put('identity', { secretKey }, 'kem')
    }
    const keys = new TabChatKeys(db, self, suite, secretKey, suite.kem.getPublicKey(secretKey), onContact)
    for (const c of await db.getAll('contacts')) {
      keys.contacts.set(c.peerId, c)
      if (c.session != null) keys.ciphers.set(c.peerId, ciphersOf(c.session))
    }
    return keys
  }

  publicKey (): Uint8Array {
    return this.ownPublicKey
  }

  contact (peer: string): ContactRecord | undefined {
    return this.contacts.get(peer)
  }

  list (): ContactRecord[] {
    return [...this.contacts.values()]
  }

  /** The name a peer's HELLO announced, and its key: a key other than the pinned one is flagged. */
  async greeted (peer: string, name: string, publicKey?: Uint8Array): Promise<void> {
    const known = this.contacts.get(peer)
    const announced = publicKey == null ? undefined : toBase64(publicKey)
    const changed = known?.publicKey != null && announced != null && announced !== known.publicKey
    if (known == null && publicKey == null) return
    await this.save({
      ...(known ?? { peerId: peer }),
      name,
      ...(changed ? { keyChanged: { publicKey: announced, at: new Date().toISOString() } } : {})
    })
  }

  /**
   * The person accepts the key a contact now shows (a new browser profile, a
   * reinstalled bridge): it is pinned in place of the old one, and the old
   * session is dropped, so the next message negotiates keys with the new
   * one. Their fingerprint is what the two people compare then: trusting a
   * key is only safe once they did.
   */
  async trustNewKey (peer: string): Promise<ContactRecord> {
    const known = this.contacts.get(peer)
    if (known?.keyChanged == null) throw new ChatNoChangedKeyError(`${known?.name || peer} has shown no new key to trust`)
    const { keyChanged, session: _, ...rest } = known
    this.ciphers.delete(peer)
    const contact = { ...rest, publicKey: keyChanged.publicKey }
    await this.save(contact)
    return contact
  }

  checkRemoteKey (peer: string, publicKey: Uint8Array): void {
    if (suiteForPublicKey(publicKey) == null) throw new ChatKeyInvalidError(`The peer's public key has ${publicKey.byteLength} bytes: no supported KEM's`)
    const known = this.contacts.get(peer)
    const offered = toBase64(publicKey)
    if (known?.publicKey != null && known.publicKey !== offered) {
      void this.save({ ...known, keyChanged: { publicKey: offered, at: new Date().toISOString() } })
      throw new ChatKeyChangedError(`The key of ${known.name === '' ? peer : known.name} is not the one pinned for it: refusing to negotiate`)
    }
  }

  encapsulate (remotePublicKey: Uint8Array): { cipherText: Uint8Array, sharedSecret: Uint8Array } {
    const suite = suiteForPublicKey(remotePublicKey)
    if (suite == null) throw new ChatKeyInvalidError()
    return suite.kem.encapsulate(remotePublicKey)
  }

  decapsulate (cipherText: Uint8Array): Uint8Array {
    if (cipherText.byteLength !== this.suite.cipherTextBytes) throw new ChatKeyInvalidError(`A ${this.suite.name} ciphertext is ${this.suite.cipherTextBytes} bytes, not ${cipherText.byteLength}`)
    return this.suite.kem.decapsulate(cipherText, this.secretKey)
  }

  async establish (h: Handshake): Promise<SessionCiphers> {
    const keys = await directionKeys(deriveSessionKey(h), this.self, h.peer)
    const remoteKey = toBase64(h.initiator ? h.responderKey : h.initiatorKey)
    const known = this.contacts.get(h.peer)
    const { keyChanged: _, ...rest } = known ?? { peerId: h.peer, name: '' }
    await this.save({ ...rest, publicKey: remoteKey, session: { ...keys, negotiatedAt: new Date().toISOString() } })
    const ciphers = ciphersOf(keys)
    this.ciphers.set(h.peer, ciphers)
    return ciphers
  }

  session (peer: string): SessionCiphers | undefined {
    return this.ciphers.get(peer)
  }

  private async save (contact: ContactRecord): Promise<void> {
    this.contacts.set(contact.peerId, contact)
    await this.db.put('contacts', contact)
    this.onContact(contact)
  }
}
