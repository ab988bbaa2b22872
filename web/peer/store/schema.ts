import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import type { ContentId, Manifest } from '@core/content/manifest'

/** The schema's version; the layout is documented at the top of idb-store.ts. */
export const DB_VERSION = 2

/**
 * One value of the `contents` object store: the small state of a content that
 * changes with every chunk stored. The manifest is in `manifests`, written once.
 */
export interface ContentRecord {
  contentId: ContentId
  /** The manifest's name, for usage(). */
  name: string
  /** The manifest's number of chunks: the have-bitfield's length. */
  chunkCount: number
  /** The have-bitfield's bytes (web/core/swarm/bitfield.ts). */
  have: Uint8Array
  /** Chunk bytes stored for this content. */
  bytes: number
  /** When the content was last used (ms since the epoch, strictly increasing across the database). */
  lastUsed: number
  /** "Keep for offline": never evicted. */
  keep?: boolean
}

/** A `contents` value as version 1 wrote it: the manifest inside, rewritten with every chunk. */
export interface ContentRecordV1 {
  contentId: ContentId
  manifest: Manifest
  have: Uint8Array
  bytes: number
  lastUsed: number
  keep?: boolean
}

export interface StoreSchema extends DBSchema {
  contents: {
    key: ContentId
    value: ContentRecord
    indexes: { lru: [number, number] }
  }
  manifests: {
    key: ContentId
    value: Manifest
  }
  chunks: {
    key: [ContentId, number]
    value: Uint8Array
  }
}

export type StoreDatabase = IDBPDatabase<StoreSchema>
export type WriteTransaction<S extends ArrayLike<StoreNames<StoreSchema>>> = IDBPTransaction<StoreSchema, S, 'readwrite'>
export type UpgradeTransaction = IDBPTransaction<StoreSchema, Array<StoreNames<StoreSchema>>, 'versionchange'>

export interface ConnectionEvents {
  /** A newer version wants to upgrade the database: close `connection`. */
  blocking(connection: IDBDatabase): void
  /** The browser closed the connection (storage cleared, disk error). */
  terminated(): void
}

/**
 * Open database `name` at DB_VERSION, creating or upgrading it. An upgrade
 * that fails midway is aborted, not committed half done: the database stays
 * at its old version, and the open rejects with the upgrade's error.
 * (Blocked — we are the newer version and an older connection stays open —
 * needs nothing: the open resolves once that connection closes.)
 */
export async function openStoreDatabase (name: string, events: ConnectionEvents): Promise<StoreDatabase> {
  let upgrade: Promise<void> | undefined
  try {
    return await openDB<StoreSchema>(name, DB_VERSION, {
      upgrade: (db, oldVersion, _newVersion, tx) => {
        tx.done.catch(() => {}) // observed: an aborted upgrade rejects it
        upgrade = upgradeSchema(db, oldVersion, tx)
        upgrade.catch(() => {
          try {
            tx.abort()
          } catch {
            // already aborted by the request that failed
          }
        })
      },
      blocking: (_current, _next, event) => { events.blocking(event.target as IDBDatabase) },
      terminated: () => { events.terminated() }
    })
  } catch (err) {
    await upgrade // rejects with the upgrade's own error, rather than the AbortError it caused
    throw err
  }
}

/**
 * Each version's step: a database at version N runs the steps after N, in
 * order, in the versionchange transaction `tx`. The promise settles when the
 * last step's requests are done; when it rejects, the caller aborts `tx`
 * (the database stays as it was).
 */
export async function upgradeSchema (db: StoreDatabase, oldVersion: number, tx: UpgradeTransaction): Promise<void> {
  if (oldVersion < 1) {
    const contents = db.createObjectStore('contents', { keyPath: 'contentId' })
    contents.createIndex('lru', ['lastUsed', 'bytes'])
    db.createObjectStore('chunks')
  }
  if (oldVersion < 2) {
    db.createObjectStore('manifests')
    if (oldVersion >= 1) await moveManifestsOut(tx)
  }
}

/**
 * Version 1 → 2: each content's manifest goes to `manifests`, its record keeps
 * the name and the chunk count. Chunks, have-bits, sizes, last uses and keeps
 * stay as they are. A record without a usable manifest (never written by
 * version 1) cannot verify anything: it is dropped with its chunks rather than
 * leave the cache unopenable.
 */
async function moveManifestsOut (tx: UpgradeTransaction): Promise<void> {
  const manifests = tx.objectStore('manifests')
  const chunks = tx.objectStore('chunks')
  for (let cursor = await tx.objectStore('contents').openCursor(); cursor != null; cursor = await cursor.continue()) {
    const { manifest, ...state } = cursor.value as unknown as ContentRecordV1
    // one request at a time: a request that throws leaves no other one unobserved
    if (!Array.isArray(manifest?.hashes) || typeof manifest.name !== 'string') {
      await chunks.delete(chunkKeysOf(cursor.primaryKey))
      await cursor.delete()
      continue
    }
    await manifests.put(manifest, cursor.primaryKey)
    await cursor.update({ ...state, name: manifest.name, chunkCount: manifest.hashes.length })
  }
}

/** Every chunk key of a content: `[id]` sorts before `[id, n]`, and `[id, []]` after (arrays sort after numbers). */
export function chunkKeysOf (contentId: ContentId): IDBKeyRange {
  return IDBKeyRange.bound([contentId], [contentId, []])
}
