import { open } from 'node:fs/promises'
import { chunkCount, chunkRange, verifyChunk, type Manifest } from '@core/content/manifest'
import { Bitfield } from '@core/swarm/bitfield'
import { readAt } from './file-io'

/** Chunks hashed at once while a file is checked: the hashes run on libuv's threads. */
const CHECK_CONCURRENCY = 4

/**
 * Which chunks of the file at `path` match `manifest`, reading it through
 * (the file may be shorter or longer than the manifest says: what is
 * missing fails). A file that cannot be opened matches nothing.
 */
export async function checkChunks (path: string, manifest: Manifest): Promise<Bitfield> {
  const good = new Bitfield(chunkCount(manifest))
  const handle = await open(path, 'r').catch(() => undefined)
  if (handle == null) return good
  try {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < good.length) {
        const index = next++
        const { start, end } = chunkRange(manifest, index)
        try {
          await verifyChunk(manifest, index, await readAt(handle, start, end - start))
          good.set(index)
        } catch {}
      }
    }
    await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, worker))
  } finally {
    await handle.close()
  }
  return good
}
