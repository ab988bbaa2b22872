import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { FrameAuthError } from './errors'
import type { FrameCipher, Handshake, SessionCiphers } from './types'

const NONCE_BYTES = 12
const TAG_BYTES = 16
const LABEL = 'pipbingo/chat/1.0.0'
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/**
 * The chat session's keys (README.md, "Chat sessions"): the session key is
 * HKDF-SHA256 over both encapsulated secrets, salted with a hash of the
 * whole handshake (both peer ids, both public keys, both KEM ciphertexts),
 * so both sides agree on it only if they saw the same handshake.
 */
export function deriveSessionKey (h: Handshake): Uint8Array {
  const transcript = sha256.create()
  for (const part of [utf8(`${LABEL} keys`), utf8(h.initiatorPeer), utf8(h.responderPeer), h.initiatorKey, h.responderKey, h.cipherTextToResponder, h.cipherTextToInitiator]) {
    const length = new Uint8Array(4)
    new DataView(length.buffer).setUint32(0, part.byteLength)
    transcript.update(length).update(part)
  }
  const ikm = new Uint8Array(h.secretToResponder.byteLength + h.secretToInitiator.byteLength)
  ikm.set(h.secretToResponder, 0)
  ikm.set(h.secretToInitiator, h.secretToResponder.byteLength)
  return hkdf(sha256, ikm, transcript.digest(), utf8(`${LABEL} session`), 32)
}

/** A session's keys as a host keeps them: one AES-256-GCM key per direction, not extractable. */
export interface DirectionKeys {
  outbound: CryptoKey
  inbound: CryptoKey
  fingerprint: string
}

/**
 * One AES-256-GCM key per direction (`<from>><to>` in the HKDF info, so a
 * frame cannot be reflected back to its sender), imported into WebCrypto
 * as non-extractable keys: a tab keeps these in IndexedDB, never the
 * session key they come from.
 */
export async function directionKeys (sessionKey: Uint8Array, self: string, peer: string): Promise<DirectionKeys> {
  const direction = async (from: string, to: string): Promise<CryptoKey> =>
    await importKey(hkdf(sha256, sessionKey, undefined, utf8(`${LABEL} ${from}>${to}`), 32))
  return { outbound: await direction(self, peer), inbound: await direction(peer, self), fingerprint: sessionFingerprint(sessionKey) }
}

/** The ciphers of a session: WebCrypto for speed (files are sealed frame by frame), a random 96-bit nonce per frame. */
export function ciphersOf (keys: DirectionKeys): SessionCiphers {
  return { outbound: new AesGcmCipher(keys.outbound), inbound: new AesGcmCipher(keys.inbound), fingerprint: keys.fingerprint }
}

/** The ciphers of a session from its key (the bridge keeps the key itself, in contacts.json). */
export async function sessionCiphers (sessionKey: Uint8Array, self: string, peer: string): Promise<SessionCiphers> {
  return ciphersOf(await directionKeys(sessionKey, self, peer))
}

/** 16 hex digits both sides can compare (say, over the phone): a hash of the session key, not the key. */
export function sessionFingerprint (sessionKey: Uint8Array): string {
  const digest = sha256.create().update(utf8(`${LABEL} fingerprint`)).update(sessionKey).digest()
  return Array.from(digest.subarray(0, 8), b => b.toString(16).padStart(2, '0')).join('')
}

async function importKey (raw: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt'])
}

export class AesGcmCipher implements FrameCipher {
  constructor (private readonly key: CryptoKey) {}

  async seal (plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
    const sealed = new Uint8Array(await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
      this.key, plaintext as Uint8Array<ArrayBuffer>))
    const out = new Uint8Array(NONCE_BYTES + sealed.byteLength)
    out.set(nonce, 0)
    out.set(sealed, NONCE_BYTES)
    return out
  }

  async open (sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (sealed.byteLength < NONCE_BYTES + TAG_BYTES) throw new FrameAuthError('A sealed frame is too short')
    try {
      return new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.subarray(0, NONCE_BYTES) as Uint8Array<ArrayBuffer>, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
        this.key, sealed.subarray(NONCE_BYTES) as Uint8Array<ArrayBuffer>))
    } catch {
      throw new FrameAuthError()
    }
  }
}
