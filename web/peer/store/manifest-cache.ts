import type { ContentId, Manifest } from '@core/content/manifest'

export interface ManifestCacheLimits {
  /** Most manifests held. */
  entries: number
  /** Most chunk hashes held, all manifests together (a hash costs ~100 bytes of memory as a string). */
  hashes: number
}

/**
 * The manifests recently used to verify chunks, so that `putChunk` does not
 * read a manifest back (a 1 GB video's is ~270 kB) for every chunk. A content
 * id fixes the hashes, so an entry never goes stale. Least recently used out
 * first, until both limits hold; the last one put always stays, however big,
 * or the largest contents would be read back for every chunk.
 */
export class ManifestCache {
  private readonly limits: ManifestCacheLimits
  /** In use order, least recent first. */
  private readonly entries = new Map<ContentId, Manifest>()
  private hashes = 0

  constructor (limits: ManifestCacheLimits) {
    this.limits = limits
  }

  get (contentId: ContentId): Manifest | undefined {
    const manifest = this.entries.get(contentId)
    if (manifest != null) {
      this.entries.delete(contentId)
      this.entries.set(contentId, manifest)
    }
    return manifest
  }

  set (contentId: ContentId, manifest: Manifest): void {
    this.delete(contentId)
    this.entries.set(contentId, manifest)
    this.hashes += manifest.hashes.length
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= 1 || (this.entries.size <= this.limits.entries && this.hashes <= this.limits.hashes)) break
      this.delete(oldest)
    }
  }

  delete (contentId: ContentId): void {
    const manifest = this.entries.get(contentId)
    if (manifest == null) return
    this.entries.delete(contentId)
    this.hashes -= manifest.hashes.length
  }

  clear (): void {
    this.entries.clear()
    this.hashes = 0
  }

  /** The content ids held, least recently used first (for tests). */
  keys (): ContentId[] {
    return [...this.entries.keys()]
  }

  /** Chunk hashes held, all manifests together. */
  get hashCount (): number {
    return this.hashes
  }
}
