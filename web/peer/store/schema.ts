import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb'
import type { ContentId, Manifest } from '@core/content/manifest'

/** The schema's version; the layout is documented at the top of idb-store.ts. */
export const DB_VERSION = 1

/** One value of the `contents` object store. */
export interface ContentRecord {
  contentId: ContentId
  manifest: Manifest
  /** The have-bitfield's bytes (web/core/swarm/bitfield.ts). */
  have: Uint8Array
  /** Chunk bytes stored for this content. */
  bytes: number
  /** When the content was last used (ms since the epoch, strictly increasing across the database). */
  lastUsed: number
  /** "Keep for offline": never evicted. */
  keep?: boolean
}

export interface StoreSchema extends DBSchema {
  contents: {
    key: ContentId
    value: ContentRecord
    indexes: { lru: [number, number] }
  }
  chunks: {
    key: [ContentId, number]
    value: Uint8Array
  }
}

export type StoreDatabase = IDBPDatabase<StoreSchema>
export type WriteTransaction<S extends ArrayLike<StoreNames<StoreSchema>>> = IDBPTransaction<StoreSchema, S, 'readwrite'>

/** Each version's step: a database at version N runs the steps after N, in order. */
export function upgradeSchema (db: StoreDatabase, oldVersion: number): void {
  if (oldVersion < 1) {
    const contents = db.createObjectStore('contents', { keyPath: 'contentId' })
    contents.createIndex('lru', ['lastUsed', 'bytes'])
    db.createObjectStore('chunks')
  }
}

/** Every chunk key of a content: `[id]` sorts before `[id, n]`, and `[id, []]` after (arrays sort after numbers). */
export function chunkKeysOf (contentId: ContentId): IDBKeyRange {
  return IDBKeyRange.bound([contentId], [contentId, []])
}
