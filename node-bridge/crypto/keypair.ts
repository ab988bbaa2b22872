import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { toBase64 } from './base64'
import { InvalidKeyError } from './errors'
import { PREFERRED, suiteForSecretKey, type KemSuite } from '@core/protocols/chat/kem'
import { removeLeftovers } from '../contacts/atomic-file'

export interface KeypairReply {
  public_key: string
  private_key: string
  algorithm: string
}

/** `crypto generate_keypair`: a fresh KEM key pair (X-Wing), base64. */
export function generateKeypair (): KeypairReply {
  const { publicKey, secretKey } = PREFERRED.kem.keygen()
  return { public_key: toBase64(publicKey), private_key: toBase64(secretKey), algorithm: PREFERRED.name }
}

/** A node's long-term KEM key: announced in HELLO, used in key negotiation. */
export interface KemIdentity {
  suite: KemSuite
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/**
 * The bridge's KEM key in `dataDir/kem.key` (the raw secret key: for X-Wing,
 * its 32-byte seed), created on first run, written atomically (temp +
 * rename), readable by the owner only — like identity.key for libp2p.
 */
export async function loadOrCreateKemIdentity (dataDir: string): Promise<KemIdentity> {
  const path = join(dataDir, 'kem.key')
  let secretKey: Uint8Array | undefined
  try {
    secretKey = new Uint8Array(await readFile(path))
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw new InvalidKeyError(`Cannot read the KEM key at ${path}: ${err?.message}`)
  }
  if (secretKey != null) {
    const suite = suiteForSecretKey(secretKey)
    if (suite == null) throw new InvalidKeyError(`The KEM key at ${path} has ${secretKey.byteLength} bytes: no supported KEM's`)
    return { suite, secretKey, publicKey: suite.kem.getPublicKey(secretKey) }
  }
  const { publicKey, secretKey: fresh } = PREFERRED.kem.keygen()
  await mkdir(dataDir, { recursive: true })
  await removeLeftovers(path)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, fresh, { mode: 0o600 })
  await rename(tmp, path)
  return { suite: PREFERRED, secretKey: fresh, publicKey }
}
