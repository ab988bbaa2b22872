/** Reading the `lru` index of `contents` ([lastUsed, bytes]): sizes and the use clock, without cloning records (nor their have-bitfields). */
import type { IDBPObjectStore, StoreNames } from 'idb'
import type { LruEntry } from './eviction'
import type { ContentRecord, StoreSchema } from './schema'

/** The `contents` store, in a readwrite transaction over any stores. */
export type ContentsStore = IDBPObjectStore<StoreSchema, ArrayLike<StoreNames<StoreSchema>>, 'contents', 'readwrite'>

/** Every content's size and last use, least recently used first (only the 'lru' index is read). */
export async function readLru (contents: ContentsStore): Promise<LruEntry[]> {
  const entries: LruEntry[] = []
  for (let cursor = await contents.index('lru').openKeyCursor(); cursor != null; cursor = await cursor.continue()) {
    entries.push({ contentId: cursor.primaryKey, lastUsed: cursor.key[0], bytes: cursor.key[1] })
  }
  return entries
}

export async function newest (contents: ContentsStore): Promise<LruEntry | undefined> {
  const cursor = await contents.index('lru').openKeyCursor(null, 'prev')
  return cursor == null ? undefined : { contentId: cursor.primaryKey, lastUsed: cursor.key[0], bytes: cursor.key[1] }
}

/** The use clock: now, but later than every other content's last use, so the LRU order never ties. */
export function nextStamp (latest: LruEntry | undefined, self?: ContentRecord): number {
  const now = Date.now()
  if (latest == null) return now
  if (self != null && latest.contentId === self.contentId) return Math.max(now, self.lastUsed)
  return Math.max(now, latest.lastUsed + 1)
}
