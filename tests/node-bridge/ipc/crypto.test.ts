import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { describe, expect, it } from 'vitest'
import { decryptMessage, encryptMessage } from '../../../node-bridge/crypto/envelope'
import { generateKeypair } from '../../../node-bridge/crypto/keypair'
import { PREFERRED, suiteForVersion } from '../../../web/core/protocols/chat/kem'
import { deriveSessionKey, sessionCiphers } from '../../../web/core/protocols/chat/session-keys'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
const kat = JSON.parse(readFileSync(new URL('./fixtures/xwing-kat.json', import.meta.url), 'utf8')) as { vectors: Array<Record<'sk' | 'pk' | 'eseed' | 'ct' | 'ss', string>> }

describe('KEM known answers', () => {
  it('the preferred suite is X-Wing, version 1 of the format', () => {
    expect(PREFERRED).toMatchObject({ version: 1, name: 'X-Wing (ML-KEM-768 + X25519)', publicKeyBytes: 1216, secretKeyBytes: 32, cipherTextBytes: 1120 })
  })

  it.each(kat.vectors.map((v, i) => [i + 1, v] as const))('X-Wing: the draft\'s vector %i (keygen, encapsulate, decapsulate)', (_n, v) => {
    const { kem } = PREFERRED
    const keys = kem.keygen(hex(v.sk))
    expect(toHex(keys.publicKey)).toBe(v.pk)
    const enc = kem.encapsulate(keys.publicKey, hex(v.eseed))
    expect(toHex(enc.cipherText)).toBe(v.ct)
    expect(toHex(enc.sharedSecret)).toBe(v.ss)
    expect(toHex(kem.decapsulate(hex(v.ct), hex(v.sk)))).toBe(v.ss)
  })

  it('ML-KEM-768 (the fallback suite): outputs from a fixed seed, pinned (SHA-256 of each)', () => {
    // not official vectors: pinned outputs of @noble/post-quantum 0.7.1, so a change in the library shows
    const seed = new Uint8Array(64).map((_, i) => i)
    const msg = new Uint8Array(32).map((_, i) => 255 - i)
    const keys = ml_kem768.keygen(seed)
    const enc = ml_kem768.encapsulate(keys.publicKey, msg)
    const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
    expect(digest(keys.publicKey)).toBe('0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9')
    expect(digest(keys.secretKey)).toBe('dac268bde6a8dd238e9887117d6b664e7a7a9350ad6b7c08a948e504809572a5')
    expect(digest(enc.cipherText)).toBe('090f7fa36cc47927b54f906d60ae5adb6b1b6a033b566ec9cb866edba8dfc9a1')
    expect(toHex(enc.sharedSecret)).toBe('f2c2678a3be8ba85e9053a0eaffc557661d15f2742caaf272cd93770062b53ca')
    expect(toHex(ml_kem768.decapsulate(enc.cipherText, keys.secretKey))).toBe(toHex(enc.sharedSecret))
  })
})

describe('the ciphertext format (encrypt / decrypt)', () => {
  it('round-trips, and its layout is version 1 || X-Wing ciphertext || 24-byte nonce || ciphertext || tag', () => {
    const { public_key, private_key, algorithm } = generateKeypair()
    expect(algorithm).toBe('X-Wing (ML-KEM-768 + X25519)')
    expect(Buffer.from(public_key, 'base64')).toHaveLength(1216)
    expect(Buffer.from(private_key, 'base64')).toHaveLength(32)
    const message = 'Bonjour Bob — ünïcödé ✓'
    const data = Buffer.from(encryptMessage(message, public_key), 'base64')
    expect(data[0]).toBe(1)
    expect(data).toHaveLength(1 + 1120 + 24 + Buffer.byteLength(message) + 16)
    expect(decryptMessage(data.toString('base64'), private_key)).toBe(message)
    // every encryption is fresh
    expect(encryptMessage(message, public_key)).not.toBe(data.toString('base64'))
  })

  it('opens a ciphertext built by hand from the README\'s description and the draft\'s vector', () => {
    const v = kat.vectors[0]!
    const suite = suiteForVersion(1)!
    const head = new Uint8Array([1, ...hex(v.ct)])
    const nonce = new Uint8Array(24).fill(7)
    const key = hkdf(sha256, hex(v.ss), undefined, new TextEncoder().encode('pipbingo/crypto/v1 X-Wing HKDF-SHA256 XChaCha20-Poly1305'), 32)
    expect(suite.info).toBe('pipbingo/crypto/v1 X-Wing HKDF-SHA256 XChaCha20-Poly1305')
    const sealed = xchacha20poly1305(key, nonce, head).encrypt(new TextEncoder().encode('known answer'))
    const data = b64(new Uint8Array([...head, ...nonce, ...sealed]))
    expect(decryptMessage(data, b64(hex(v.sk)))).toBe('known answer')
  })

  it('fails cleanly: the wrong key, a flipped byte anywhere, bad base64, a short or unknown blob', () => {
    const alice = generateKeypair()
    const bob = generateKeypair()
    const data = encryptMessage('for Alice only', alice.public_key)
    expect(() => decryptMessage(data, bob.private_key)).toThrow(expect.objectContaining({ name: 'DecryptionError', message: 'Decryption failed: wrong private key, or the data was altered' }))
    const bytes = Buffer.from(data, 'base64')
    for (const at of [1, 600, 1121, 1145, bytes.length - 1]) {
      const flipped = Buffer.from(bytes)
      flipped[at]! ^= 0x01
      expect(() => decryptMessage(flipped.toString('base64'), alice.private_key), `byte ${at}`).toThrow(expect.objectContaining({ name: 'DecryptionError' }))
    }
    const versioned = Buffer.from(bytes)
    versioned[0] = 9
    expect(() => decryptMessage(versioned.toString('base64'), alice.private_key)).toThrow('Invalid encrypted_data: unknown format version 9')
    expect(() => decryptMessage('not base64!', alice.private_key)).toThrow('Invalid encrypted_data: not base64')
    expect(() => decryptMessage(bytes.subarray(0, 1130).toString('base64'), alice.private_key)).toThrow('Invalid encrypted_data: too short')
    expect(() => decryptMessage(data, 'AAAA')).toThrow('Invalid private_key: 3 bytes is no supported KEM key (X-Wing keys are 32 bytes)')
    expect(() => encryptMessage('x', 'base64encodedkey...')).toThrow('Invalid public_key: not base64')
    expect(() => encryptMessage('x', b64(new Uint8Array(100)))).toThrow('Invalid public_key: 100 bytes is no supported KEM key (X-Wing keys are 1216 bytes)')
  })

  it('decrypts version 2 (ML-KEM-768 only) as well, and refuses to mix suites', () => {
    const keys = ml_kem768.keygen()
    const data = encryptMessage('fallback', b64(keys.publicKey))
    expect(Buffer.from(data, 'base64')[0]).toBe(2)
    expect(decryptMessage(data, b64(keys.secretKey))).toBe('fallback')
    expect(() => decryptMessage(data, generateKeypair().private_key)).toThrow('Invalid private_key: a key of X-Wing (ML-KEM-768 + X25519) cannot open data sealed for ML-KEM-768')
  })
})

describe('chat session keys', () => {
  it('both sides derive the same session, one key per direction, and a changed transcript gives another', async () => {
    const { kem } = PREFERRED
    const a = kem.keygen()
    const b = kem.keygen()
    const toB = kem.encapsulate(b.publicKey)
    const toA = kem.encapsulate(a.publicKey)
    const base = { peer: '', initiatorPeer: 'A', responderPeer: 'B', initiatorKey: a.publicKey, responderKey: b.publicKey, cipherTextToResponder: toB.cipherText, cipherTextToInitiator: toA.cipherText }
    const onA = deriveSessionKey({ ...base, initiator: true, secretToResponder: toB.sharedSecret, secretToInitiator: kem.decapsulate(toA.cipherText, a.secretKey) })
    const onB = deriveSessionKey({ ...base, initiator: false, secretToResponder: kem.decapsulate(toB.cipherText, b.secretKey), secretToInitiator: toA.sharedSecret })
    expect(toHex(onA)).toBe(toHex(onB))
    expect(toHex(deriveSessionKey({ ...base, responderPeer: 'M', initiator: true, secretToResponder: toB.sharedSecret, secretToInitiator: toA.sharedSecret }))).not.toBe(toHex(onA))

    const ca = await sessionCiphers(onA, 'A', 'B')
    const cb = await sessionCiphers(onB, 'B', 'A')
    expect(ca.fingerprint).toBe(cb.fingerprint)
    const aad = new Uint8Array([2, 1, 0, 0, 0, 0])
    const sealed = await ca.outbound.seal(new TextEncoder().encode('hi'), aad)
    expect(new TextDecoder().decode(await cb.inbound.open(sealed, aad))).toBe('hi')
    // not reflected back to its sender, not under other associated data, not with a bit flipped
    await expect(ca.inbound.open(sealed, aad)).rejects.toMatchObject({ name: 'FrameAuthError' })
    await expect(cb.inbound.open(sealed, new Uint8Array([2, 1, 0, 0, 0, 1]))).rejects.toMatchObject({ name: 'FrameAuthError' })
    const flipped = new Uint8Array(sealed)
    flipped[14]! ^= 0x80
    await expect(cb.inbound.open(flipped, aad)).rejects.toMatchObject({ name: 'FrameAuthError' })
  })
})
