import { chunkRange, verifyChunk } from '@core/content/manifest'
import type { Entry } from './contents'
import { isNotFound } from './file-io'
import type { ReadHandles } from './read-handles'

export type ReadChunkResult =
  | { ok: true, bytes: Uint8Array }
  | { ok: false, reason: 'gone' | 'corrupt', path: string }

/**
 * Read chunk `index` of a content from disk and verify it against the
 * manifest again: a file changed behind the store's back is never served.
 * `pathOf` is asked again if the file vanished, once: a partial may have
 * been renamed to its final name while we read.
 */
export async function readChunk (entry: Entry, index: number, pathOf: (entry: Entry) => string, files: ReadHandles): Promise<ReadChunkResult> {
  const { start, end } = chunkRange(entry.manifest, index)
  for (let attempt = 0; ; attempt++) {
    const path = pathOf(entry)
    let bytes: Uint8Array
    try {
      bytes = await files.read(path, start, end - start)
    } catch (err) {
      if (!isNotFound(err)) throw err
      if (attempt === 0 && !entry.deleted) continue
      return { ok: false, reason: 'gone', path }
    }
    try {
      await verifyChunk(entry.manifest, index, bytes)
      return { ok: true, bytes }
    } catch {
      return { ok: false, reason: 'corrupt', path }
    }
  }
}
