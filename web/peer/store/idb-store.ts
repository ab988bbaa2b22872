/**
 * IdbChunkStore: the ChunkStore of a browser profile, in IndexedDB (`idb`).
 * The tab that owns the profile writes it; the service worker opens the same
 * database with this class and reads it. Window and worker alike: no DOM, no
 * `window`, only `indexedDB` and the core's `crypto.subtle`.
 *
 * Schema — database `idbName(profile)` (web/peer/sw-protocol.ts), version 1:
 *
 *   contents  keyPath 'contentId'
 *             { contentId, manifest, have: Uint8Array, bytes: number, lastUsed: number, keep?: true }
 *             have: the have-bitfield's bytes (chunk 0 is 0x80 of byte 0, web/core/swarm/bitfield.ts)
 *             bytes: chunk bytes stored for the content (manifests are not counted)
 *             lastUsed: ms since the epoch, strictly increasing across the database (a use clock)
 *             keep: "keep for offline", never evicted
 *             index 'lru' on [lastUsed, bytes]: the LRU order and the sizes, read without cloning manifests
 *   chunks    out-of-line key [contentId, index] → Uint8Array, exactly the chunk's bytes, verified
 *
 * Invariants: a have-bit is set if and only if its chunk is in `chunks`, and
 * `bytes` is the sum of those chunks' lengths — a chunk and its record are
 * written in one readwrite transaction, after the hash was checked (never await
 * crypto inside a transaction: it commits under the await). The size cap counts
 * the sum of `bytes`. A new version adds a step to `upgradeSchema` (schema.ts);
 * an open connection closes when a newer version asks (versionchange).
 */
import { openDB } from 'idb'
import { checkIndex, contentIdOf, verifyChunk, type ContentId, type Manifest } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import { Bitfield } from '@core/swarm/bitfield'
import type { AbortOptions } from '@core/util/abort'
import { StoreClosedError, StoreFullError, UnknownContentError } from './errors'
import { planEviction, totalBytes, type EvictionPlan, type LruEntry } from './eviction'
import { newest, nextStamp, readLru } from './lru-index'
import { chunkKeysOf, DB_VERSION, upgradeSchema, type ContentRecord, type StoreDatabase, type StoreSchema, type WriteTransaction } from './schema'
import { write } from './transaction'

/** The cap when none is given: 2 GiB of chunks. */
export const DEFAULT_CAP_BYTES = 2 * 1024 ** 3

/** Manifests kept in memory to verify chunks without reading them back (a 1 GB video's is ~270 kB). */
const MANIFEST_CACHE_SIZE = 8

const CLOSED = 'The store is closed'
const NEWER_VERSION = 'The video cache was upgraded by a newer version of pipbingo in another tab: reload this page'
const TERMINATED = 'The browser closed the video cache unexpectedly: reload this page'
const NOTHING_PINNED: ReadonlySet<ContentId> = new Set()

export interface IdbChunkStoreInit {
  /** The database name: `idbName(profile)`. */
  name: string
  /** Most chunk bytes to hold (default DEFAULT_CAP_BYTES; Infinity for no cap). */
  capBytes?: number
  /** The contents being watched right now: never evicted. */
  pinned?: () => ReadonlySet<ContentId>
  /** A content was evicted to make room (called after the eviction is committed). */
  onEvicted?(contentId: ContentId): void
}

export interface ContentUsage {
  contentId: ContentId
  /** The manifest's name. */
  name: string
  /** Chunk bytes stored. */
  bytes: number
  /** Chunks stored. */
  chunks: number
  complete: boolean
  lastUsed: number
  keep: boolean
}

export interface StoreUsage {
  /** Chunk bytes stored, all contents together: what the cap counts. */
  bytes: number
  /** Most recently used first. */
  contents: ContentUsage[]
}

type ChunkTransaction = WriteTransaction<readonly ['contents', 'chunks']>

export class IdbChunkStore implements ChunkStore {
  private db: StoreDatabase | undefined
  private closedReason: string | undefined
  private cap: number
  private readonly pinned: () => ReadonlySet<ContentId>
  private readonly onEvicted: ((contentId: ContentId) => void) | undefined
  private readonly manifests = new Map<ContentId, Manifest>()

  private constructor (init: IdbChunkStoreInit) {
    this.cap = checkCap(init.capBytes ?? DEFAULT_CAP_BYTES)
    this.pinned = init.pinned ?? (() => NOTHING_PINNED)
    this.onEvicted = init.onEvicted
  }

  /** Open (creating or upgrading) the database `init.name`. */
  static async open (init: IdbChunkStoreInit, options?: AbortOptions): Promise<IdbChunkStore> {
    options?.signal?.throwIfAborted()
    const store = new IdbChunkStore(init)
    store.db = await openDB<StoreSchema>(init.name, DB_VERSION, {
      upgrade: (db, oldVersion) => { upgradeSchema(db, oldVersion) },
      // a newer version wants to upgrade: step aside (this instance is closed from now on)
      blocking: (_current, _next, event) => { store.lose(event.target as IDBDatabase, NEWER_VERSION) },
      terminated: () => { store.lose(undefined, TERMINATED) }
      // blocked (we are the newer version and an older connection stays open): the open resolves once it closes
    })
    return store
  }

  /**
   * Ask the browser to keep this site's storage under pressure; whether it is
   * persistent (false where the Storage API is missing, as in workers).
   */
  static async persist (): Promise<boolean> {
    // persist() is for windows only: a worker's StorageManager lacks it
    const storage = typeof navigator === 'undefined'
      ? undefined
      : (navigator.storage as { persist?: () => Promise<boolean>, persisted?: () => Promise<boolean> } | undefined)
    try {
      if (typeof storage?.persist === 'function') return await storage.persist()
      if (typeof storage?.persisted === 'function') return await storage.persisted()
    } catch {
      // refused or unsupported: not persistent
    }
    return false
  }

  /** The size cap in bytes. */
  get capBytes (): number {
    return this.cap
  }

  async putManifest (manifest: Manifest, options?: AbortOptions): Promise<ContentId> {
    this.connection(options)
    const contentId = await contentIdOf(manifest)
    await write(this.connection(options), ['contents'], async tx => {
      const contents = tx.objectStore('contents')
      if (await contents.getKey(contentId) !== undefined) return
      const have = new Bitfield(manifest.hashes.length).toBytes()
      await contents.add({ contentId, manifest, have, bytes: 0, lastUsed: nextStamp(await newest(contents)) })
    })
    return contentId
  }

  async getManifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
    return (await this.connection(options).get('contents', contentId))?.manifest
  }

  async listContents (options?: AbortOptions): Promise<ContentId[]> {
    return await this.connection(options).getAllKeys('contents')
  }

  async putChunk (contentId: ContentId, index: number, data: Uint8Array, options?: AbortOptions): Promise<void> {
    const manifest = await this.manifestOf(contentId, options)
    checkIndex(manifest, index)
    // a copy: what is verified is what is stored, whatever the caller does with `data` meanwhile
    const bytes = new Uint8Array(data)
    await verifyChunk(manifest, index, bytes)
    const evicted = await write(this.connection(options), ['contents', 'chunks'], async tx => {
      const contents = tx.objectStore('contents')
      const record = await contents.get(contentId)
      if (record == null) throw new UnknownContentError()
      const have = new Bitfield(manifest.hashes.length, record.have)
      if (have.has(index)) return []
      const lru = await readLru(contents)
      const evicted = await this.makeRoom(tx, lru, bytes.byteLength, contentId)
      have.set(index)
      await Promise.all([
        tx.objectStore('chunks').put(bytes, [contentId, index]),
        contents.put({ ...record, have: have.toBytes(), bytes: record.bytes + bytes.byteLength, lastUsed: nextStamp(lru.at(-1), record) })
      ])
      return evicted
    })
    this.announce(evicted)
  }

  async getChunk (contentId: ContentId, index: number, options?: AbortOptions): Promise<Uint8Array | undefined> {
    const db = this.connection(options)
    if (!Number.isInteger(index) || index < 0) return undefined // not a valid key
    return await db.get('chunks', [contentId, index])
  }

  async have (contentId: ContentId, options?: AbortOptions): Promise<Bitfield | undefined> {
    const record = await this.connection(options).get('contents', contentId)
    return record == null ? undefined : new Bitfield(record.manifest.hashes.length, record.have)
  }

  async deleteContent (contentId: ContentId, options?: AbortOptions): Promise<void> {
    await write(this.connection(options), ['contents', 'chunks'], async tx => {
      await Promise.all([tx.objectStore('contents').delete(contentId), tx.objectStore('chunks').delete(chunkKeysOf(contentId))])
    })
    this.manifests.delete(contentId)
  }

  /** Mark a content used now (it becomes the last to be evicted). Quiet for an unknown content. */
  async touch (contentId: ContentId, options?: AbortOptions): Promise<void> {
    await write(this.connection(options), ['contents'], async tx => {
      const contents = tx.objectStore('contents')
      const record = await contents.get(contentId)
      if (record == null) return
      const lastUsed = nextStamp(await newest(contents), record)
      if (lastUsed !== record.lastUsed) await contents.put({ ...record, lastUsed })
    })
  }

  /** "Keep for offline": a kept content is never evicted. Throws UnknownContentError. */
  async setKeep (contentId: ContentId, keep: boolean, options?: AbortOptions): Promise<void> {
    await write(this.connection(options), ['contents'], async tx => {
      const contents = tx.objectStore('contents')
      const record = await contents.get(contentId)
      if (record == null) throw new UnknownContentError()
      const { keep: _previous, ...rest } = record
      await contents.put(keep ? { ...rest, keep: true } : rest)
    })
  }

  /** What the cache holds, for the cache manager. */
  async usage (options?: AbortOptions): Promise<StoreUsage> {
    const records = await this.connection(options).getAll('contents')
    const contents = records.map(usageOf).sort((a, b) => b.lastUsed - a.lastUsed)
    return { bytes: totalBytes(contents), contents }
  }

  /**
   * Change the size cap. A lower cap evicts least recently used contents at
   * once, as far as it can (pinned and kept contents stay, even above the cap).
   */
  async setCap (bytes: number, options?: AbortOptions): Promise<void> {
    const db = this.connection(options)
    this.cap = checkCap(bytes)
    const evicted = await write(db, ['contents', 'chunks'], async tx => {
      const lru = await readLru(tx.objectStore('contents'))
      const plan = await this.plan(tx, lru, totalBytes(lru) - this.cap)
      return await this.evict(tx, plan.victims)
    })
    this.announce(evicted)
  }

  async close (): Promise<void> {
    this.lose(undefined, CLOSED)
  }

  private lose (connection: IDBDatabase | undefined, reason: string): void {
    this.closedReason ??= reason
    ;(connection ?? this.db)?.close()
    this.manifests.clear()
  }

  private connection (options?: AbortOptions): StoreDatabase {
    options?.signal?.throwIfAborted()
    if (this.db == null || this.closedReason != null) throw new StoreClosedError(this.closedReason)
    return this.db
  }

  /** The manifest, from memory when recently used: a content id fixes the hashes, so it never goes stale. */
  private async manifestOf (contentId: ContentId, options?: AbortOptions): Promise<Manifest> {
    const cached = this.manifests.get(contentId)
    if (cached != null) {
      this.connection(options)
      return cached
    }
    const manifest = (await this.connection(options).get('contents', contentId))?.manifest
    if (manifest == null) throw new UnknownContentError()
    if (this.manifests.size >= MANIFEST_CACHE_SIZE) this.manifests.delete(this.manifests.keys().next().value as ContentId)
    this.manifests.set(contentId, manifest)
    return manifest
  }

  /** Evict so that `incoming` more bytes fit under the cap, or throw StoreFullError (the caller's transaction then aborts: nothing is evicted). */
  private async makeRoom (tx: ChunkTransaction, lru: LruEntry[], incoming: number, writing: ContentId): Promise<ContentId[]> {
    const used = totalBytes(lru)
    const need = used + incoming - this.cap
    if (need <= 0) return []
    const plan = await this.plan(tx, lru, need, writing)
    if (plan.freed < need) throw new StoreFullError(used, this.cap)
    return await this.evict(tx, plan.victims)
  }

  private async plan (tx: ChunkTransaction, lru: LruEntry[], need: number, writing?: ContentId): Promise<EvictionPlan> {
    const pinned = this.pinned()
    const contents = tx.objectStore('contents')
    return await planEviction(lru, need, async entry => {
      if (entry.contentId === writing || pinned.has(entry.contentId)) return false
      return (await contents.get(entry.contentId))?.keep !== true
    })
  }

  private async evict (tx: ChunkTransaction, victims: LruEntry[]): Promise<ContentId[]> {
    const contents = tx.objectStore('contents')
    const chunks = tx.objectStore('chunks')
    await Promise.all(victims.flatMap(v => [contents.delete(v.contentId), chunks.delete(chunkKeysOf(v.contentId))]))
    return victims.map(v => v.contentId)
  }

  /** After the commit: tell the owner. A failing callback is reported, and does not undo a stored chunk. */
  private announce (evicted: ContentId[]): void {
    for (const contentId of evicted) {
      this.manifests.delete(contentId)
      try {
        this.onEvicted?.(contentId)
      } catch (err) {
        if (typeof globalThis.reportError === 'function') globalThis.reportError(err)
        else console.error(err)
      }
    }
  }
}

function checkCap (bytes: number): number {
  if (typeof bytes !== 'number' || Number.isNaN(bytes) || bytes < 0) {
    throw new RangeError(`The cache size must be a number of bytes, 0 or more (got ${String(bytes)})`)
  }
  return bytes
}

function usageOf (record: ContentRecord): ContentUsage {
  const have = new Bitfield(record.manifest.hashes.length, record.have)
  return {
    contentId: record.contentId,
    name: record.manifest.name,
    bytes: record.bytes,
    chunks: have.count(),
    complete: have.isComplete(),
    lastUsed: record.lastUsed,
    keep: record.keep === true
  }
}
