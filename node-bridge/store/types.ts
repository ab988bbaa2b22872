import type { ComponentLogger } from '@libp2p/interface'
import type { ManifestProgress } from '@core/content/builder'
import type { ContentId, Manifest } from '@core/content/manifest'

/** What a scan of the store folder reports, as it goes. */
export type ScanProgress =
  | { type: 'scan-start', files: number }
  /** A file's size and mtime matched the scan cache: not hashed. */
  | { type: 'file-cached', filename: string, contentId: ContentId }
  | { type: 'file-hashing', filename: string, bytesHashed: number, totalBytes: number }
  | { type: 'file-hashed', filename: string, contentId: ContentId }
  | { type: 'file-skipped', filename: string, reason: string }
  /** A content the store knew whose file is gone. */
  | { type: 'content-removed', contentId: ContentId }
  | { type: 'scan-done', hashed: number, cached: number, removed: number }

/** A chunk read from disk that no longer matches its manifest: it was not served. */
export interface CorruptionEvent {
  contentId: ContentId
  index: number
  path: string
}

/**
 * A complete file found damaged (with `repair`): every chunk was checked,
 * and the file is a partial download again holding the `kept` chunks that
 * match, so that the `lost` ones are fetched again.
 */
export interface DamageEvent {
  contentId: ContentId
  /** The name the file had, and will have again once complete. */
  filename: string
  /** `read`: a chunk read back did not match; `changed`: the file's size or mtime moved while the store was closed. */
  cause: 'read' | 'changed'
  lost: number[]
  kept: number
}

export interface FsChunkStoreInit {
  /** The store folder (created if missing). */
  dir: string
  /** Manifest complete files the store does not know yet (default true). */
  scan?: boolean
  /** Chunk size of the manifests a scan or addFile makes (default 256 KiB). */
  chunkSize?: number
  /** How many files to keep open for reading chunks, least recently used closed first (default 64). */
  readHandles?: number
  onProgress?(event: ScanProgress): void
  onCorruption?(event: CorruptionEvent): void
  /**
   * A damaged complete file is made a partial again and its bad chunks
   * fetched anew (the bridge's cache), rather than only refused (the relay's
   * library, the origin: nothing to fetch from). With it, a known file whose
   * size or mtime changed while the store was closed is checked against the
   * manifest it had, not hashed as a new content under the same name.
   */
  repair?: boolean
  /** Told once a damaged file is a partial again (with `repair`); awaited before the repair counts as done. */
  onDamaged?(event: DamageEvent): void | Promise<void>
  /**
   * Verify chunks read back from disk (default true): each at its first
   * read after the store opened or the file changed (see readChunk). false
   * only for a benchmark's baseline.
   */
  verifyReads?: boolean
  logger?: ComponentLogger
  signal?: AbortSignal
}

export interface AddFileOptions {
  signal?: AbortSignal
  onProgress?(progress: ManifestProgress): void
}

export interface AddedFile {
  contentId: ContentId
  manifest: Manifest
}
