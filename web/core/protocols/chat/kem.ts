import * as hybrid from '@noble/post-quantum/hybrid.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import type { KEM } from '@noble/post-quantum/utils.js'
import { fromBase64 } from './base64'

/**
 * The KEMs of the ciphertext format, by version byte (README.md). Version 1
 * is X-Wing (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem), which
 * @noble/post-quantum exports as `ml_kem768_x25519`; version 2, plain
 * ML-KEM-768 (FIPS 203), is used for new keys only when the installed
 * library has no X-Wing — and is always accepted when decrypting.
 */
export interface KemSuite {
  version: number
  name: string
  kem: KEM
  publicKeyBytes: number
  secretKeyBytes: number
  cipherTextBytes: number
  /** HKDF `info` of the ciphertext format: binds the version and the algorithms. */
  info: string
}

function suite (version: number, name: string, kem: KEM, info: string): KemSuite {
  return {
    version,
    name,
    kem,
    publicKeyBytes: kem.lengths.publicKey as number,
    secretKeyBytes: kem.lengths.secretKey as number,
    cipherTextBytes: kem.lengths.cipherText as number,
    info
  }
}

const xwing = (hybrid as Partial<typeof hybrid>).ml_kem768_x25519

export const SUITES: readonly KemSuite[] = [
  ...(xwing != null ? [suite(1, 'X-Wing (ML-KEM-768 + X25519)', xwing, 'pipbingo/crypto/v1 X-Wing HKDF-SHA256 XChaCha20-Poly1305')] : []),
  suite(2, 'ML-KEM-768', ml_kem768, 'pipbingo/crypto/v2 ML-KEM-768 HKDF-SHA256 XChaCha20-Poly1305')
]

/** The suite new keys use: X-Wing when the library has it. */
export const PREFERRED: KemSuite = SUITES[0] as KemSuite

export function suiteForVersion (version: number): KemSuite | undefined {
  return SUITES.find(s => s.version === version)
}

/** Keys carry no tag: their lengths tell the suites apart (1216/32 bytes for X-Wing, 1184/2400 for ML-KEM-768). */
export function suiteForPublicKey (key: Uint8Array): KemSuite | undefined {
  return SUITES.find(s => s.publicKeyBytes === key.byteLength)
}

export function suiteForSecretKey (key: Uint8Array): KemSuite | undefined {
  return SUITES.find(s => s.secretKeyBytes === key.byteLength)
}

/** Whether `b64` is a supported KEM public key. A contact's key as given to `contacts add` may be anything (the seed's example is "base64encodedkey..."): only a real key is pinned or used. */
export function isKemPublicKey (b64: string | undefined): boolean {
  const bytes = b64 == null ? undefined : fromBase64(b64)
  return bytes != null && suiteForPublicKey(bytes) != null
}
