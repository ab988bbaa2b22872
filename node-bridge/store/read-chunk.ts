import { createHash } from 'node:crypto'
import { chunkLength, chunkRange, type Manifest } from '@core/content/manifest'
import { Bitfield } from '@core/swarm/bitfield'
import type { Entry } from './contents'
import { isNotFound } from './file-io'
import type { ReadHandles } from './read-handles'

export type ReadChunkResult =
  | { ok: true, bytes: Uint8Array }
  | { ok: false, reason: 'gone' | 'corrupt', path: string }

/**
 * Read chunk `index` of a content from disk and verify it against the
 * manifest: a file changed behind the store's back is never served. A chunk
 * that matched is remembered with the file's identity (device, inode, size,
 * mtime, ctime: `entry.verified`), and not hashed again while the file
 * keeps it; any change to the file, a restart, and every chunk is hashed
 * again at its first read. `verify: false` skips all of it (a benchmark's
 * baseline, never the product).
 * `pathOf` is asked again if the file vanished, once: a partial may have
 * been renamed to its final name while we read.
 */
export async function readChunk (entry: Entry, index: number, pathOf: (entry: Entry) => string, files: ReadHandles, verify = true): Promise<ReadChunkResult> {
  const { start, end } = chunkRange(entry.manifest, index)
  for (let attempt = 0; ; attempt++) {
    const path = pathOf(entry)
    let read: { bytes: Uint8Array, identity?: string }
    try {
      read = await files.readIdentified(path, start, end - start, verify)
    } catch (err) {
      if (!isNotFound(err)) throw err
      if (attempt === 0 && !entry.deleted) continue
      return { ok: false, reason: 'gone', path }
    }
    const { bytes, identity } = read
    if (!verify || identity == null) return { ok: true, bytes }
    if (entry.verified?.identity === identity && entry.verified.chunks.has(index)) return { ok: true, bytes }
    if (!matches(entry.manifest, index, bytes)) return { ok: false, reason: 'corrupt', path }
    if (entry.verified?.identity !== identity) entry.verified = { identity, chunks: new Bitfield(entry.have.length) }
    entry.verified.chunks.set(index)
    return { ok: true, bytes }
  }
}

/**
 * Does `bytes` match chunk `index` of `manifest`? node:crypto's SHA-256,
 * synchronous on the bytes as they are: no copy and no round trip to
 * libuv's threads, which WebCrypto's digest (the core's verifyChunk) costs
 * per chunk — half the throughput of a first read of /stream with it.
 */
export function matches (manifest: Manifest, index: number, bytes: Uint8Array): boolean {
  if (bytes.byteLength !== chunkLength(manifest, index)) return false
  return createHash('sha256').update(bytes).digest('hex') === manifest.hashes[index]
}
