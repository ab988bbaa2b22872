import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/**
 * The relay's libp2p identity, kept in `dataDir/identity.key` so its peer id
 * (part of every address clients dial) survives restarts. Created on first
 * run, written atomically, readable by the owner only.
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, 'identity.key')
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw new Error(`Cannot read the relay identity at ${path}: ${err?.message}`)
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, path)
  return key
}
