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
