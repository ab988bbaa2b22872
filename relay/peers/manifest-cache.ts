import type { ContentId, Manifest } from '@core/content/manifest'

/** Manifests verified against their ids, least recently used dropped first past a byte budget. */
export class ManifestCache {
  private readonly items = new Map<ContentId, { manifest: Manifest, bytes: number }>()
  private bytes = 0

  constructor (private readonly maxBytes: number) {}

  get (contentId: ContentId): Manifest | undefined {
    const item = this.items.get(contentId)
    if (item == null) return undefined
    this.items.delete(contentId)
    this.items.set(contentId, item)
    return item.manifest
  }

  /** What a manifest of `chunks` hashes counts for: its JSON, 67 bytes a hash and a few hundred for the rest. */
  static estimate (chunks: number): number {
    return chunks * 67 + 512
  }

  get size (): number {
    return this.items.size
  }

  /** The room left under the budget. */
  free (): number {
    return this.maxBytes - this.bytes
  }

  set (contentId: ContentId, manifest: Manifest): void {
    this.delete(contentId)
    const bytes = ManifestCache.estimate(manifest.hashes.length)
    if (bytes > this.maxBytes) return
    this.items.set(contentId, { manifest, bytes })
    this.bytes += bytes
    for (const [id, item] of this.items) {
      if (this.bytes <= this.maxBytes) break
      this.items.delete(id)
      this.bytes -= item.bytes
    }
  }

  delete (contentId: ContentId): void {
    const item = this.items.get(contentId)
    if (item == null) return
    this.items.delete(contentId)
    this.bytes -= item.bytes
  }

  /** Keep only the contents `keep` says yes to. */
  retain (keep: (contentId: ContentId) => boolean): void {
    for (const id of [...this.items.keys()]) if (!keep(id)) this.delete(id)
  }

  has (contentId: ContentId): boolean {
    return this.items.has(contentId)
  }
}
