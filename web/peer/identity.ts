import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A profile's libp2p identity, kept in localStorage so a reloaded tab is the
 * same peer. The key never leaves the browser.
 */
export async function loadOrCreateIdentity (profile: string, storage: Storage = localStorage): Promise<PrivateKey> {
  const slot = `pipbingo:${profile}:identity`
  const saved = storage.getItem(slot)
  if (saved != null) {
    try {
      return privateKeyFromProtobuf(Uint8Array.from(atob(saved), c => c.charCodeAt(0)))
    } catch {
      // unreadable: make a new one rather than never starting
    }
  }
  const key = await generateKeyPair('Ed25519')
  storage.setItem(slot, btoa(String.fromCharCode(...privateKeyToProtobuf(key))))
  return key
}
