import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { IdentityUnreadableError } from './errors'
import { removeLeftovers } from './contacts/atomic-file'

/**
 * A process's libp2p identity, kept in `dataDir/identity.key` so its peer id
 * survives restarts (other peers and the tracker know it by that id).
 * Created on first run, written atomically (temp + rename), readable by the
 * owner only. Node-only: browser tabs keep theirs in their profile.
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, 'identity.key')
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw new IdentityUnreadableError(`Cannot read the identity at ${path}: ${err?.message}`)
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true })
  await removeLeftovers(path)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, path)
  return key
}
