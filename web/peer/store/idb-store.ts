/**
 * IdbChunkStore: the ChunkStore of a browser profile, in IndexedDB (`idb`).
 * The tab that owns the profile writes it; the service worker opens the same
 * database with this class and reads it. Window and worker alike: no DOM, no
 * `window`, only `indexedDB` and the core's `crypto.subtle`.
 *
 * Schema — database `idbName(profile)` (web/peer/sw-protocol.ts), version 2:
 *
 *   contents   keyPath 'contentId': the small state of a content, rewritten with every chunk
 *              { contentId, name, chunkCount, have: Uint8Array, bytes: number, lastUsed: number, keep?: true }
 *              name: the manifest's name; chunkCount: its number of chunks (the have-bitfield's length)
 *              have: the have-bitfield's bytes (chunk 0 is 0x80 of byte 0, web/core/swarm/bitfield.ts)
 *              bytes: chunk bytes stored for the content (manifests are not counted)
 *              lastUsed: ms since the epoch, strictly increasing across the database (a use clock)
 *              keep: "keep for offline", never evicted
 *              index 'lru' on [lastUsed, bytes]: the LRU order and the sizes, read without cloning records
 *   manifests  out-of-line key contentId → Manifest, written once by putManifest, deleted with the content
 *   chunks     out-of-line key [contentId, index] → Uint8Array, exactly the chunk's bytes, verified
 *
 * Version 1 kept the manifest inside the `contents` record, so every chunk
 * rewrote it (~270 kB for a 1 GB video); opening a version 1 database moves
 * the manifests out (schema.ts).
 *
 * Invariants: a content has a `contents` record if and only if it has a
 * manifest; a have-bit is set if and only if its chunk is in `chunks`, and
 * `bytes` is the sum of those chunks' lengths — a chunk and its record are
 * written in one readwrite transaction, after the hash was checked (never await
 * crypto inside a transaction: it commits under the await). The size cap counts
 * the sum of `bytes`. A new version adds a step to `upgradeSchema` (schema.ts);
 * an open connection closes when a newer version asks (versionchange).
 */
import { checkIndex, contentIdOf, verifyChunk, type ContentId, type Manifest } from '@core/content/manifest'
import { ChunkListeners, type ChunkListener } from '@core/store/listeners'
import type { ChunkStore } from '@core/store/types'
import { Bitfield } from '@core/swarm/bitfield'
import type { AbortOptions } from '@core/util/abort'
import { StoreClosedError, StoreFullError, UnknownContentError } from './errors'
import { planEviction, totalBytes, type EvictionPlan, type LruEntry } from './eviction'
import { newest, nextStamp, readLru } from './lru-index'
import { ManifestCache } from './manifest-cache'
import { chunkKeysOf, openStoreDatabase, type ContentRecord, type StoreDatabase, type WriteTransaction } from './schema'
import { write } from './transaction'

/** The cap when none is given: 2 GiB of chunks. */
export const DEFAULT_CAP_BYTES = 2 * 1024 ** 3

/**
 * Manifests kept in memory to verify chunks without reading them back: 8, and
 * 2^18 hashes in all (~17 MiB of hex, the manifest of a 64 GiB content in 256 KiB chunks).
 */
const MANIFEST_CACHE = { entries: 8, hashes: 2 ** 18 }

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

/** Storing a chunk may evict whole contents: their manifests go too. */
type ChunkTransaction = WriteTransaction<readonly ['contents', 'manifests', 'chunks']>

export class IdbChunkStore implements ChunkStore {
  private db: StoreDatabase | undefined
  private closedReason: string | undefined
  private cap: number
  private readonly pinned: () => ReadonlySet<ContentId>
  private readonly onEvicted: ((contentId: ContentId) => void) | undefined
  private readonly manifests = new ManifestCache(MANIFEST_CACHE)
  private readonly listeners = new ChunkListeners()

  private constructor (init: IdbChunkStoreInit) {
    this.cap = checkCap(init.capBytes ?? DEFAULT_CAP_BYTES)
    this.pinned = init.pinned ?? (() => NOTHING_PINNED)
    this.onEvicted = init.onEvicted
  }

  /** Open (creating or upgrading) the database `init.name`. */
  static async open (init: IdbChunkStoreInit, options?: AbortOptions): Promise<IdbChunkStore> {
    options?.signal?.throwIfAborted()
    const store = new IdbChunkStore(init)
    store.db = await openStoreDatabase(init.name, {
      // a newer version wants to upgrade: step aside (this instance is closed from now on)
      blocking: connection => { store.lose(connection, NEWER_VERSION) },
      terminated: () => { store.lose(undefined, TERMINATED) }
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
    await write(this.connection(options), ['contents', 'manifests'], async tx => {
      const contents = tx.objectStore('contents')
      if (await contents.getKey(contentId) !== undefined) return
      const chunkCount = manifest.hashes.length
      const record: ContentRecord = {
        contentId, name: manifest.name, chunkCount, have: new Bitfield(chunkCount).toBytes(), bytes: 0, lastUsed: nextStamp(await newest(contents))
      }
      await Promise.all([tx.objectStore('manifests').put(manifest, contentId), contents.add(record)])
    })
    // its chunks are likely next: verify them without reading the manifest back
    // (a copy, as IndexedDB keeps one: the caller changing its hashes later must not change what is checked)
    this.manifests.set(contentId, structuredClone(manifest))
    return contentId
  }

  async getManifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
    return await this.connection(options).get('manifests', contentId)
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
    const stored = await write(this.connection(options), ['contents', 'manifests', 'chunks'], async tx => {
      const contents = tx.objectStore('contents')
      const record = await contents.get(contentId)
      if (record == null) throw new UnknownContentError()
      const have = new Bitfield(record.chunkCount, record.have)
      if (have.has(index)) return undefined
      const lru = await readLru(contents)
      const evicted = await this.makeRoom(tx, lru, bytes.byteLength, contentId)
      have.set(index)
      await Promise.all([
        tx.objectStore('chunks').put(bytes, [contentId, index]),
        contents.put({ ...record, have: have.toBytes(), bytes: record.bytes + bytes.byteLength, lastUsed: nextStamp(lru.at(-1), record) })
      ])
      return { evicted }
    })
    if (stored == null) return // held already
    this.announce(stored.evicted)
    // committed: this instance's listeners hear of it (another connection's writes are not seen here)
    this.listeners.emit(contentId, index)
  }

  async getChunk (contentId: ContentId, index: number, options?: AbortOptions): Promise<Uint8Array | undefined> {
    const db = this.connection(options)
    if (!Number.isInteger(index) || index < 0) return undefined // not a valid key
    return await db.get('chunks', [contentId, index])
  }

  async have (contentId: ContentId, options?: AbortOptions): Promise<Bitfield | undefined> {
    const record = await this.connection(options).get('contents', contentId)
    return record == null ? undefined : new Bitfield(record.chunkCount, record.have)
  }

  async deleteContent (contentId: ContentId, options?: AbortOptions): Promise<void> {
    await write(this.connection(options), ['contents', 'manifests', 'chunks'], async tx => {
      await Promise.all([
        tx.objectStore('contents').delete(contentId),
        tx.objectStore('manifests').delete(contentId),
        tx.objectStore('chunks').delete(chunkKeysOf(contentId))
      ])
    })
    this.manifests.delete(contentId)
  }

  onChunk (contentId: ContentId, listener: ChunkListener): () => void {
    return this.listeners.add(contentId, listener)
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
    const evicted = await write(db, ['contents', 'manifests', 'chunks'], async tx => {
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
    const db = this.connection(options)
    const cached = this.manifests.get(contentId)
    if (cached != null) return cached
    const manifest = await db.get('manifests', contentId)
    if (manifest == null) throw new UnknownContentError()
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
    const manifests = tx.objectStore('manifests')
    const chunks = tx.objectStore('chunks')
    await Promise.all(victims.flatMap(v => [contents.delete(v.contentId), manifests.delete(v.contentId), chunks.delete(chunkKeysOf(v.contentId))]))
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
  const have = new Bitfield(record.chunkCount, record.have)
  return {
    contentId: record.contentId,
    name: record.name,
    bytes: record.bytes,
    chunks: have.count(),
    complete: have.isComplete(),
    lastUsed: record.lastUsed,
    keep: record.keep === true
  }
}
