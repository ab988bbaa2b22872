import { stat } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { CHUNK_SIZE } from '@core/content/constants'
import { InvalidFilenameError } from '@core/content/errors'
import { checkFilename } from '@core/content/filename'
import {
  checkIndex, chunkCount, contentIdOf as idOfManifest, encodeManifest, parseManifest, verifyChunk,
  type ContentId, type Manifest
} from '@core/content/manifest'
import { DiskFullError, StoreClosedError, UnknownContentError } from '@core/store/errors'
import { ChunkListeners, type ChunkListener } from '@core/store/listeners'
import type { ChunkStore } from '@core/store/types'
import { Bitfield } from '@core/swarm/bitfield'
import type { AbortOptions } from '@core/util/abort'
import { ChunkBuffers } from './chunk-buffers'
import { ContentTable, newEntry, type Entry } from './contents'
import { createEmpty, isNoSpace, removeIfExists, writeFileAtomic } from './file-io'
import { hashFile } from './hash-file'
import { InUseMarker } from './in-use-marker'
import { PART_SUFFIX, StoreLayout } from './layout'
import { dropLostChunks, loadManifests, loadPartials } from './load-state'
import { PartialWrites } from './partial-writes'
import { readChunk } from './read-chunk'
import { reopenDamaged } from './repair'
import { DEFAULT_READ_HANDLES, ReadHandles } from './read-handles'
import { ScanCache, type FileStamp } from './scan-cache'
import { scanFolder } from './scan-folder'
import { encodeState } from './state-file'
import { SerialQueue } from './serial-queue'
import { chooseFilename } from './unique-name'
import type { AddedFile, AddFileOptions, FsChunkStoreInit } from './types'

interface Found { filename: string, stamp: FileStamp, manifest: Manifest, contentId: ContentId }

/**
 * A ChunkStore over one folder, for the relay (`library/`, complete videos)
 * and the bridge (`./cache`, partial downloads too). See StoreLayout for
 * where things live.
 *
 * Files stay open: each partial's `.part` from its first chunk until it
 * completes (the handle survives the rename) or is deleted, and the files
 * chunks are read from in a small cache (ReadHandles). `close()` closes
 * them all.
 *
 * Durability. A chunk's bit is set only once the write() of its bytes to
 * `.part` has returned, and the bitfield is saved by writing a temporary
 * file and renaming it over the old one (not flushed: neither is the data).
 * `putChunk` resolves only once a saved bitfield claims its chunk; chunks
 * that arrive while a save waits share it.
 * - Process crash (`kill -9`): the OS page cache survives it, so data and
 *   bitfield reach the disk whatever the order; the bitfield on disk never
 *   claims a chunk whose bytes were not written, and claims every chunk
 *   whose `putChunk` had resolved.
 * - Machine crash (power cut, kernel panic): unflushed chunk data may be
 *   lost while a saved bitfield claims it. The in-use marker (InUseMarker)
 *   tells this case apart at the next open, which then checks every claimed
 *   chunk of every partial against its hash and drops the ones that fail.
 *   The data is flushed once, before `.part` is renamed to its final name,
 *   so a complete file is whole on the disk.
 * Whatever happened, every chunk read back is verified again before it is
 * served: a file changed behind the store's back is never served.
 */
export class FsChunkStore implements ChunkStore {
  readonly dir: string
  private readonly contents = new ContentTable()
  /** Every change to files other than chunk data goes through here, one at a time. */
  private readonly meta = new SerialQueue()
  private readonly readers: ReadHandles
  private readonly partials: PartialWrites
  private readonly buffers = new ChunkBuffers()
  private readonly listeners = new ChunkListeners()
  private readonly marker: InUseMarker
  /** Deletions and handle closes under way: close() waits for them. */
  private readonly pending = new Set<Promise<void>>()
  private closed = false
  private closing: Promise<void> | undefined

  private constructor (
    private readonly layout: StoreLayout,
    private readonly cache: ScanCache,
    private readonly init: FsChunkStoreInit,
    private readonly log: Logger
  ) {
    this.dir = layout.dir
    this.readers = new ReadHandles(init.readHandles ?? DEFAULT_READ_HANDLES)
    this.marker = new InUseMarker(layout.inUsePath)
    this.partials = new PartialWrites({
      layout, contents: this.contents, meta: this.meta, readers: this.readers, cache, log, track: async closing => { await this.track(closing) }
    })
  }

  /** Open (creating if needed) the store in `init.dir`, resume partials and scan for new files. */
  static async open (init: FsChunkStoreInit): Promise<FsChunkStore> {
    init.signal?.throwIfAborted()
    const layout = new StoreLayout(init.dir)
    await layout.prepare()
    const log = (init.logger ?? defaultLogger()).forComponent('pipbingo:store:fs')
    const store = new FsChunkStore(layout, await ScanCache.load(layout.scanCachePath), init, log)
    await store.load()
    return store
  }

  async putManifest (manifest: Manifest, options?: AbortOptions): Promise<ContentId> {
    this.check(options)
    checkFilename((manifest as { name?: unknown } | null)?.name)
    const parsed = parseManifest(manifest)
    const contentId = await idOfManifest(parsed)
    if (this.contents.has(contentId)) return contentId
    return await this.meta.run(async () => {
      this.check(options)
      if (this.contents.has(contentId)) return contentId
      const filename = await this.freeName(parsed.name, undefined, true)
      const have = new Bitfield(chunkCount(parsed))
      try {
        await writeFileAtomic(this.layout.manifestPath(contentId), encodeManifest(parsed))
        await createEmpty(this.layout.partFor(filename)) // grows as chunks land: nothing preallocated
        await writeFileAtomic(this.layout.statePath(contentId), encodeState({ filename, have }))
      } catch (err) {
        // nothing half-made stays behind (a stray .part would push a retry to "name (1).ext")
        for (const path of [this.layout.statePath(contentId), this.layout.partFor(filename), this.layout.manifestPath(contentId)]) await removeIfExists(path).catch(() => {})
        throw this.noSpace(err)
      }
      this.contents.add(newEntry(contentId, parsed, filename, have))
      return contentId
    })
  }

  async getManifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
    this.check(options)
    return this.contents.get(contentId)?.manifest
  }

  async listContents (options?: AbortOptions): Promise<ContentId[]> {
    this.check(options)
    return this.contents.ids()
  }

  async putChunk (contentId: ContentId, index: number, data: Uint8Array, options?: AbortOptions): Promise<void> {
    this.check(options)
    const entry = this.contents.get(contentId)
    if (entry == null) throw new UnknownContentError()
    checkIndex(entry.manifest, index)
    // What is written must be what was verified, and the caller may change
    // its buffer while the hash or the write is under way (both wait for a
    // thread): the store hashes and writes a copy of its own, in a buffer
    // it reuses once this put is over.
    const bytes = this.buffers.copy(data, entry.manifest.chunkSize)
    try {
      await verifyChunk(entry.manifest, index, bytes)
      if (entry.have.has(index)) return
      const running = entry.writes.get(index)
      if (running != null) return await running
      if (this.closed) throw new StoreClosedError()
      if (entry.deleted) throw new UnknownContentError('The content was deleted while its chunk was verified')
      const write = this.partials.write(entry, index, bytes)
      entry.writes.set(index, write)
      try {
        await write
      } catch (err) {
        throw this.noSpace(err)
      } finally {
        entry.writes.delete(index)
      }
      // a saved bitfield claims it (or the content is complete): it has landed
      if (this.contents.get(contentId) === entry) this.listeners.emit(contentId, index)
    } finally {
      this.buffers.release(bytes)
    }
  }

  async getChunk (contentId: ContentId, index: number, options?: AbortOptions): Promise<Uint8Array | undefined> {
    this.check(options)
    const entry = this.contents.get(contentId)
    if (entry == null || !entry.have.has(index)) return undefined
    const read = await readChunk(entry, index, e => this.pathOfEntry(e), this.readers, this.init.verifyReads ?? true)
    if (read.ok) return read.bytes
    if (read.reason === 'corrupt') this.corrupt(entry, index, read.path)
    else this.log.error('chunk %d of %s: %s is gone', index, contentId, read.path)
    return undefined
  }

  async have (contentId: ContentId, options?: AbortOptions): Promise<Bitfield | undefined> {
    this.check(options)
    return this.contents.get(contentId)?.have.clone()
  }

  async deleteContent (contentId: ContentId, options?: AbortOptions): Promise<void> {
    this.check(options)
    const entry = this.contents.get(contentId)
    if (entry == null) return
    const names = this.contents.remove(contentId)
    await this.track(this.removeFiles(entry, names))
  }

  onChunk (contentId: ContentId, listener: ChunkListener): () => void {
    return this.listeners.add(contentId, listener)
  }

  /**
   * Manifest (streaming) and adopt a complete file that was just placed in
   * the folder. A file that replaced another of the same name replaces its
   * content; a file with the bytes of a content already held is a second
   * name for it, and the manifest returned is that content's.
   */
  async addFile (filename: string, options?: AddFileOptions): Promise<AddedFile> {
    this.check(options)
    const path = this.layout.fileFor(filename)
    if (filename.toLowerCase().endsWith(PART_SUFFIX)) throw new InvalidFilenameError(`Invalid filename: "${PART_SUFFIX}" names are partial downloads`)
    const hashed = await hashFile(path, filename, {
      chunkSize: this.init.chunkSize ?? CHUNK_SIZE, signal: options?.signal, onProgress: options?.onProgress
    })
    const entry = await this.meta.run(async () => {
      this.check(options)
      const adopted = await this.adopt({ filename, ...hashed }, true)
      await this.cache.save()
      return adopted
    })
    return { contentId: hashed.contentId, manifest: entry.manifest }
  }

  /**
   * A complete file vanished from the folder (someone deleted or moved it):
   * forget that name. Its content goes too unless another file holds the
   * same bytes. Nothing is deleted on disk but the content's manifest.
   * Returns the content the name held, and whether it is gone; undefined
   * when the name held nothing, or the file is there again.
   */
  async fileRemoved (filename: string): Promise<{ contentId: ContentId, gone: boolean } | undefined> {
    this.check(undefined)
    const path = this.layout.fileFor(filename)
    return await this.meta.run(async () => {
      if (await stat(path).then(s => s.isFile(), () => false)) return undefined
      const contentId = this.contents.idOfName(filename)
      if (contentId == null || this.contents.get(contentId)?.complete !== true) return undefined
      await this.readers.forget(path)
      this.contents.unname(filename)
      this.cache.delete(filename)
      await this.fileReplaced(filename, contentId)
      await this.cache.save()
      return { contentId, gone: !this.contents.has(contentId) }
    })
  }

  /** Every filename of a complete content: the first is the one it is listed under. */
  namesOf (contentId: ContentId): string[] {
    const entry = this.contents.get(contentId)
    if (entry?.complete !== true) return []
    return [entry.filename, ...this.contents.namesOf(contentId).filter(n => n !== entry.filename)]
  }

  /** Absolute path of the complete file of a content, for HTTP Range serving. */
  pathOf (contentId: ContentId): string | undefined {
    const entry = this.contents.get(contentId)
    return entry?.complete === true ? this.pathOfEntry(entry) : undefined
  }

  /** The local filename of a content (for a partial: the name it will get). */
  filenameOf (contentId: ContentId): string | undefined {
    return this.contents.get(contentId)?.filename
  }

  /** The content held under a local filename: complete files first, then partials. */
  contentIdOf (filename: string): ContentId | undefined {
    return this.contents.idOfName(filename)
  }

  isComplete (contentId: ContentId): boolean {
    return this.contents.get(contentId)?.complete === true
  }

  /** Resolves once a damaged file of this content being checked is a partial again (or found whole). */
  async repaired (contentId: ContentId): Promise<void> {
    await this.contents.get(contentId)?.reopening
  }

  /** Finish the work under way, close every file, flush the partials. Every call resolves once that is done. */
  async close (): Promise<void> {
    this.closing ??= this.shutDown()
    await this.closing
  }

  private async shutDown (): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.contents.values().flatMap(e => [...e.writes.values()]))
    await this.settle()
    await this.meta.idle()
    await this.cache.idle()
    for (const entry of this.contents.values()) void this.partials.close(entry)
    void this.track(this.readers.close())
    await this.settle()
    // the marker goes only once every partial's data is on the disk (see InUseMarker)
    const flushed = await Promise.all(this.contents.values().filter(e => !e.complete).map(async e => await this.partials.flush(e)))
    if (flushed.every(ok => ok)) await this.marker.clear()
  }

  private async load (): Promise<void> {
    const { init, layout, log } = this
    const restarted = await this.marker.leftOpenBeforeRestart()
    const manifests = await loadManifests(layout, log)
    for (const p of await loadPartials(layout, manifests, log)) {
      if (restarted) await dropLostChunks(layout, p, log)
      this.contents.add(newEntry(p.contentId, p.manifest, p.filename, p.have))
    }
    const { files, present } = await scanFolder({
      layout, cache: this.cache, manifests, hash: init.scan ?? true, chunkSize: init.chunkSize, repair: init.repair, log, onProgress: init.onProgress, signal: init.signal
    })
    for (const file of files) {
      const entry = await this.adopt(file, !manifests.has(file.contentId))
      if (file.changed === true) await this.reopen(entry, 'changed')
    }
    let removed = 0
    for (const contentId of manifests.keys()) {
      if (this.contents.has(contentId)) continue
      await removeIfExists(layout.manifestPath(contentId)) // its file was deleted by hand
      removed++
      init.onProgress?.({ type: 'content-removed', contentId })
    }
    for (const name of this.cache.names()) if (!present.has(name)) this.cache.delete(name)
    await this.cache.save()
    await this.marker.set()
    const hashed = files.filter(f => f.hashed).length
    init.onProgress?.({ type: 'scan-done', hashed, cached: files.length - hashed, removed })
  }

  /** Take a complete file into the store (run on the meta queue, or while loading). */
  private async adopt (file: Found, writeManifest: boolean): Promise<Entry> {
    const { filename, contentId } = file
    await this.readers.forget(this.layout.fileFor(filename)) // the name may hold another file than it did
    const previous = this.contents.unname(filename)
    if (previous != null && previous !== contentId) await this.fileReplaced(filename, previous)
    let entry = this.contents.get(contentId)
    const heldBefore = entry?.have.clone()
    if (entry == null) {
      if (writeManifest) await writeFileAtomic(this.layout.manifestPath(contentId), encodeManifest(file.manifest))
      entry = newEntry(contentId, file.manifest, filename, Bitfield.full(chunkCount(file.manifest)), true)
      this.contents.add(entry)
    } else if (!entry.complete) {
      const partPath = this.layout.partFor(entry.filename)
      Object.assign(entry, { complete: true, filename, have: Bitfield.full(chunkCount(entry.manifest)) })
      await this.partials.close(entry)
      await removeIfExists(partPath)
      await this.readers.forget(partPath)
      await removeIfExists(this.layout.statePath(contentId))
    }
    this.contents.name(filename, contentId)
    this.cache.set(filename, file.stamp, contentId)
    // a file that completes a partial or brings a new content: its chunks have landed too
    for (let index = 0; index < entry.have.length; index++) {
      if (heldBefore?.has(index) !== true) this.listeners.emit(contentId, index)
    }
    return entry
  }

  /** `filename` was overwritten: its old content is gone unless another file holds it too. */
  private async fileReplaced (filename: string, contentId: ContentId): Promise<void> {
    const entry = this.contents.get(contentId)
    if (entry == null || entry.filename !== filename) return
    const other = this.contents.namesOf(contentId)[0]
    if (other != null) {
      entry.filename = other
      return
    }
    this.contents.remove(contentId)
    await removeIfExists(this.layout.manifestPath(contentId))
  }

  /** Remove what a deleted content had on disk, once its writes under way are done. */
  private async removeFiles (entry: Entry, names: string[]): Promise<void> {
    const { contentId } = entry
    await Promise.allSettled(entry.writes.values())
    await this.meta.run(async () => {
      // a file is closed after it is removed: a read that opens it meanwhile is closed too, and none can open it after
      if (entry.complete) {
        // a rename to the final name may have finished since remove()
        for (const name of new Set([...names, entry.filename, ...this.contents.namesOf(contentId)])) {
          this.contents.unname(name)
          this.cache.delete(name)
          await removeIfExists(this.layout.fileFor(name))
          await this.readers.forget(this.layout.fileFor(name))
        }
        await this.cache.save()
      } else {
        const partPath = this.layout.partFor(entry.filename)
        await this.partials.close(entry)
        await removeIfExists(partPath)
        await this.readers.forget(partPath)
        await removeIfExists(this.layout.statePath(contentId))
      }
      await removeIfExists(this.layout.manifestPath(contentId))
    })
  }

  /** Run `work` where close() waits for it. */
  private async track (work: Promise<void>): Promise<void> {
    this.pending.add(work)
    try {
      await work
    } finally {
      this.pending.delete(work)
    }
  }

  private async settle (): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  private async freeName (wanted: string, self: Entry | undefined, needPart: boolean): Promise<string> {
    return await chooseFilename(this.layout, wanted, { isReserved: name => this.contents.isReserved(name, self), needPart })
  }

  private pathOfEntry (entry: Entry): string {
    return entry.complete ? this.layout.fileFor(entry.filename) : this.layout.partFor(entry.filename)
  }

  private corrupt (entry: Entry, index: number, path: string): void {
    this.log.error('chunk %d of %s in %s no longer matches its manifest: not served', index, entry.contentId, path)
    if (!entry.complete) {
      entry.have.clear(index) // fetch it again
    } else if (this.init.repair === true) {
      // no longer claimed (HAVE, have()) from now on; the whole file is checked and made a partial again
      entry.have.clear(index)
      entry.reopening ??= this.track(this.meta.run(async () => { await this.reopen(entry, 'read') }))
        .catch((err: Error) => { this.log.error('could not repair %s: %s', path, err.message) })
        .finally(() => { entry.reopening = undefined })
    }
    this.init.onCorruption?.({ contentId: entry.contentId, index, path })
  }

  /** ENOSPC or EDQUOT as DiskFullError (the chunks held stay held); any other error as it is. */
  private noSpace (err: unknown): unknown {
    if (!isNoSpace(err)) return err
    const code = (err as NodeJS.ErrnoException).code as string
    return new DiskFullError(`The disk holding the cache (${this.dir}) is full (${code})`, { cause: err })
  }

  /** See reopenDamaged: only a complete file the store still holds as it was. */
  private async reopen (entry: Entry, cause: 'read' | 'changed'): Promise<void> {
    if (this.closed || entry.deleted || !entry.complete || this.contents.get(entry.contentId) !== entry) return
    await reopenDamaged({ layout: this.layout, contents: this.contents, cache: this.cache, readers: this.readers, log: this.log, onDamaged: this.init.onDamaged }, entry, cause)
  }

  private check (options: AbortOptions | undefined): void {
    if (this.closed) throw new StoreClosedError()
    options?.signal?.throwIfAborted()
  }
}
