import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { decodeKey, fromBase64, toBase64 } from './base64'
import { DecryptionError, InvalidKeyError, MalformedCiphertextError } from './errors'
import { PREFERRED, suiteForPublicKey, suiteForSecretKey, suiteForVersion, type KemSuite } from '@core/protocols/chat/kem'

const NONCE_BYTES = 24
const TAG_BYTES = 16

/**
 * The IPC's `encrypt` / `decrypt`: a message sealed to a KEM public key
 * (README.md, "Ciphertext format"):
 *
 *   version:u8 || kem_ciphertext || nonce(24) || XChaCha20-Poly1305(plaintext) || tag(16)
 *
 * key = HKDF-SHA256(ikm = KEM shared secret, salt = none, info = the suite's
 * info string), aad = version || kem_ciphertext. A fresh encapsulation per
 * message, so every message has its own key.
 */
export function encryptMessage (message: string, publicKeyB64: string): string {
  const publicKey = decodeKey('public_key', publicKeyB64)
  const suite = suiteForPublicKey(publicKey)
  if (suite == null) throw new InvalidKeyError(`Invalid public_key: ${publicKey.byteLength} bytes is no supported KEM key (X-Wing keys are ${PREFERRED.publicKeyBytes} bytes)`)
  let encapsulated
  try {
    encapsulated = suite.kem.encapsulate(publicKey)
  } catch (err: any) {
    throw new InvalidKeyError(`Invalid public_key: ${err?.message ?? 'rejected by the KEM'}`)
  }
  const head = new Uint8Array(1 + suite.cipherTextBytes)
  head[0] = suite.version
  head.set(encapsulated.cipherText, 1)
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  const sealed = xchacha20poly1305(messageKey(suite, encapsulated.sharedSecret), nonce, head).encrypt(new TextEncoder().encode(message))
  const out = new Uint8Array(head.byteLength + NONCE_BYTES + sealed.byteLength)
  out.set(head, 0)
  out.set(nonce, head.byteLength)
  out.set(sealed, head.byteLength + NONCE_BYTES)
  return toBase64(out)
}

export function decryptMessage (encryptedB64: string, privateKeyB64: string): string {
  const data = fromBase64(encryptedB64)
  if (data == null || data.byteLength === 0) throw new MalformedCiphertextError('Invalid encrypted_data: not base64')
  const privateKey = decodeKey('private_key', privateKeyB64)
  const version = data[0] as number
  const suite = suiteForVersion(version)
  if (suite == null) throw new MalformedCiphertextError(`Invalid encrypted_data: unknown format version ${version}`)
  const keySuite = suiteForSecretKey(privateKey)
  if (keySuite == null) throw new InvalidKeyError(`Invalid private_key: ${privateKey.byteLength} bytes is no supported KEM key (X-Wing keys are ${PREFERRED.secretKeyBytes} bytes)`)
  if (keySuite !== suite) throw new InvalidKeyError(`Invalid private_key: a key of ${keySuite.name} cannot open data sealed for ${suite.name}`)
  const headBytes = 1 + suite.cipherTextBytes
  if (data.byteLength < headBytes + NONCE_BYTES + TAG_BYTES) throw new MalformedCiphertextError('Invalid encrypted_data: too short')
  const head = data.subarray(0, headBytes)
  const nonce = data.subarray(headBytes, headBytes + NONCE_BYTES)
  let plaintext: Uint8Array
  try {
    // decapsulation never fails (implicit rejection): a wrong key gives a wrong secret, caught by the tag
    const secret = suite.kem.decapsulate(head.subarray(1), privateKey)
    plaintext = xchacha20poly1305(messageKey(suite, secret), nonce, head).decrypt(data.subarray(headBytes + NONCE_BYTES))
  } catch {
    throw new DecryptionError()
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
  } catch {
    throw new DecryptionError('Decryption succeeded but the message is not UTF-8 text')
  }
}

function messageKey (suite: KemSuite, secret: Uint8Array): Uint8Array {
  return hkdf(sha256, secret, undefined, new TextEncoder().encode(suite.info), 32)
}
