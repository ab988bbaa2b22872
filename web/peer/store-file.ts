import type { ContentId, Manifest } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'

/** Bytes read from the file at once: a few chunks, so memory stays small whatever the file. */
const SLICE_BYTES = 4 * 1024 * 1024

export interface StoreFileProgress { bytesStored: number, totalBytes: number }

export interface StoreFileOptions {
  signal?: AbortSignal
  onProgress?(progress: StoreFileProgress): void
}

/**
 * Put a local file's chunks into the store under its manifest (hashed
 * beforehand, in a worker). The store verifies every chunk against the
 * manifest as usual, so a file changed since it was hashed fails here with
 * `ChunkHashMismatchError` rather than being seeded wrong. Chunks already
 * held are skipped: publishing again after an interruption resumes.
 */
export async function storeFile (store: ChunkStore, contentId: ContentId, manifest: Manifest, file: Blob, options: StoreFileOptions = {}): Promise<void> {
  const { chunkSize, size } = manifest
  const have = await store.have(contentId, options)
  const perSlice = Math.max(1, Math.floor(SLICE_BYTES / chunkSize))
  let stored = 0
  for (let first = 0; first < manifest.hashes.length; first += perSlice) {
    options.signal?.throwIfAborted()
    const last = Math.min(manifest.hashes.length, first + perSlice)
    const missing: number[] = []
    for (let i = first; i < last; i++) if (have?.has(i) !== true) missing.push(i)
    if (missing.length > 0) {
      const bytes = new Uint8Array(await file.slice(first * chunkSize, Math.min(size, last * chunkSize)).arrayBuffer())
      for (const i of missing) {
        const offset = (i - first) * chunkSize
        await store.putChunk(contentId, i, bytes.subarray(offset, Math.min(bytes.byteLength, offset + chunkSize)), options)
      }
    }
    stored = Math.min(size, last * chunkSize)
    options.onProgress?.({ bytesStored: stored, totalBytes: size })
  }
}
