import type { ContentId, Manifest } from '../content/manifest'
import type { Bitfield } from '../swarm/bitfield'
import type { AbortOptions } from '../util/abort'
import type { ChunkListener } from './listeners'

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
  /**
   * Call `listener` with the index of each chunk of `contentId` that this
   * store stores from now on (the chunk server pushes them to subscribed
   * peers): once per chunk, after `putChunk` verified and stored it (have()
   * and getChunk() show it), before that `putChunk` resolves. Not for a
   * chunk already held, a put that fails, or a content deleted. Listening
   * to a content the store does not know is allowed. Returns the function
   * that stops listening.
   */
  onChunk(contentId: ContentId, listener: ChunkListener): () => void
  close?(): Promise<void>
}
