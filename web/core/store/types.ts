import type { ContentId, Manifest } from '../content/manifest'
import type { Bitfield } from '../swarm/bitfield'
import type { AbortOptions } from '../util/abort'

/**
 * Where a peer keeps the chunks it holds. One interface for memory, the
 * filesystem (relay, bridge) and IndexedDB (browser tabs); every
 * implementation passes the same compliance suite (tests/core/store/compliance.ts).
 *
 * The store is the last line of defence: `putChunk` verifies the chunk
 * against the manifest's hash and throws ChunkHashMismatchError otherwise,
 * so nothing unverified is ever stored, whatever the source.
 */
export interface ChunkStore {
  /** Remember a manifest; returns its content id. Idempotent. */
  putManifest(manifest: Manifest, options?: AbortOptions): Promise<ContentId>
  getManifest(contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined>
  /** The contents this store has a manifest for. */
  listContents(options?: AbortOptions): Promise<ContentId[]>
  /**
   * Store chunk `index` after checking its hash. Throws UnknownContentError
   * without a manifest, ChunkIndexOutOfRangeError, ChunkHashMismatchError.
   */
  putChunk(contentId: ContentId, index: number, data: Uint8Array, options?: AbortOptions): Promise<void>
  /** The chunk's bytes, or undefined when it is not held. */
  getChunk(contentId: ContentId, index: number, options?: AbortOptions): Promise<Uint8Array | undefined>
  /** Which chunks are held, or undefined for an unknown content. */
  have(contentId: ContentId, options?: AbortOptions): Promise<Bitfield | undefined>
  /** Forget a content and its chunks. No error if unknown. */
  deleteContent(contentId: ContentId, options?: AbortOptions): Promise<void>
  close?(): Promise<void>
}
