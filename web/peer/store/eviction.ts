import type { ContentId } from '@core/content/manifest'

/** What the size cap needs to know of a content (read from the `lru` index, without the record). */
export interface LruEntry {
  contentId: ContentId
  lastUsed: number
  /** Chunk bytes stored. */
  bytes: number
}

export interface EvictionPlan {
  /** Least recently used first. */
  victims: LruEntry[]
  freed: number
}

/**
 * Whole contents to evict, least recently used first, until at least `need`
 * bytes are freed. Contents holding no bytes free nothing and are left alone;
 * `evictable` says no for the pinned, the kept and the one being written.
 * When `freed < need`, evicting all the victims is still not enough.
 */
export async function planEviction (
  entries: readonly LruEntry[],
  need: number,
  evictable: (entry: LruEntry) => boolean | Promise<boolean>
): Promise<EvictionPlan> {
  const victims: LruEntry[] = []
  let freed = 0
  if (need <= 0) return { victims, freed }
  const oldestFirst = [...entries].sort((a, b) => a.lastUsed - b.lastUsed)
  for (const entry of oldestFirst) {
    if (freed >= need) break
    if (entry.bytes <= 0 || !await evictable(entry)) continue
    victims.push(entry)
    freed += entry.bytes
  }
  return { victims, freed }
}

export function totalBytes (entries: readonly LruEntry[]): number {
  let total = 0
  for (const entry of entries) total += entry.bytes
  return total
}
