import { toBase64, fromBase64 } from '../crypto/base64'
import { InvalidKeyError, KeyMismatchError } from '../crypto/errors'
import type { KemIdentity } from '../crypto/keypair'
import { deriveSessionKey, sessionCiphers } from '@core/protocols/chat/session-keys'
import { suiteForPublicKey } from '@core/protocols/chat/kem'
import type { ContactStore } from '../contacts/store'
import type { ChatKeys, Handshake, SessionCiphers } from '@core/protocols/chat/types'
import type { PeerDirectory } from './names'

export interface ChatKeyringInit {
  self: string
  identity: KemIdentity
  contacts: ContactStore
  directory: PeerDirectory
}

/**
 * ChatKeys for the bridge: its long-term KEM key (kem.key), sessions kept
 * with the contacts (contacts.json), pinned keys from the contacts. A
 * session's ciphers are built once per session key and looked up by peer;
 * removing the contact removes the session.
 */
export class ChatKeyring implements ChatKeys {
  private readonly ciphers = new Map<string, { key: string, ciphers: SessionCiphers }>()

  constructor (private readonly init: ChatKeyringInit) {}

  /** Build the ciphers of the sessions on disk (WebCrypto keys are imported asynchronously). */
  async load (): Promise<void> {
    for (const c of this.init.contacts.list()) {
      if (c.peer_id != null && c.session != null) await this.cache(c.peer_id, c.session.key)
    }
  }

  publicKey (): Uint8Array {
    return this.init.identity.publicKey
  }

  checkRemoteKey (peer: string, publicKey: Uint8Array): void {
    if (suiteForPublicKey(publicKey) == null) throw new InvalidKeyError(`The peer's public key has ${publicKey.byteLength} bytes: no supported KEM's`)
    const pinned = this.init.directory.pinnedKey(peer)
    if (pinned != null && pinned !== toBase64(publicKey)) {
      throw new KeyMismatchError(`The public key of ${this.init.directory.displayName(peer)} is not the one in its contact: refusing to negotiate (remove or update the contact if the key really changed)`)
    }
  }

  encapsulate (remotePublicKey: Uint8Array): { cipherText: Uint8Array, sharedSecret: Uint8Array } {
    const suite = suiteForPublicKey(remotePublicKey)
    if (suite == null) throw new InvalidKeyError('Unsupported public key')
    return suite.kem.encapsulate(remotePublicKey)
  }

  decapsulate (cipherText: Uint8Array): Uint8Array {
    const { suite, secretKey } = this.init.identity
    if (cipherText.byteLength !== suite.cipherTextBytes) throw new InvalidKeyError(`A ${suite.name} ciphertext is ${suite.cipherTextBytes} bytes, not ${cipherText.byteLength}`)
    return suite.kem.decapsulate(cipherText, secretKey)
  }

  async establish (h: Handshake): Promise<SessionCiphers> {
    const sessionKey = toBase64(deriveSessionKey(h))
    const ciphers = await this.cache(h.peer, sessionKey)
    const remoteKey = h.initiator ? h.responderKey : h.initiatorKey
    await this.init.contacts.bindSession(h.peer, this.init.directory.displayName(h.peer), toBase64(remoteKey), {
      key: sessionKey,
      fingerprint: ciphers.fingerprint,
      negotiated_at: new Date().toISOString()
    })
    return ciphers
  }

  session (peer: string): SessionCiphers | undefined {
    const key = this.init.contacts.byPeer(peer)?.session?.key
    const cached = this.ciphers.get(peer)
    if (key == null || cached?.key !== key) return undefined
    return cached.ciphers
  }

  private async cache (peer: string, key: string): Promise<SessionCiphers> {
    const bytes = fromBase64(key)
    if (bytes == null) throw new InvalidKeyError('A stored session key is not base64')
    const ciphers = await sessionCiphers(bytes, this.init.self, peer)
    this.ciphers.set(peer, { key, ciphers })
    return ciphers
  }
}
