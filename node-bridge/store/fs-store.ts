import { rename } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { CHUNK_SIZE } from '@core/content/constants'
import { InvalidFilenameError } from '@core/content/errors'
import { checkFilename } from '@core/content/filename'
import {
  checkIndex, chunkCount, chunkRange, contentIdOf as idOfManifest, encodeManifest, parseManifest, verifyChunk,
  type ContentId, type Manifest
} from '@core/content/manifest'
import { StoreClosedError, UnknownContentError } from '@core/store/errors'
import type { ChunkStore } from '@core/store/types'
import { Bitfield } from '@core/swarm/bitfield'
import type { AbortOptions } from '@core/util/abort'
import { ContentTable, newEntry, type Entry } from './contents'
import { createSparse, removeIfExists, syncFile, writeAt, writeFileAtomic } from './file-io'
import { hashFile, stampOf } from './hash-file'
import { PART_SUFFIX, StoreLayout } from './layout'
import { loadManifests, loadPartials } from './load-state'
import { readChunk } from './read-chunk'
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
 * Crash safety: a chunk's bytes are written to `.part` and flushed before
 * the bitfield that claims them is replaced (temporary file + rename), so
 * after a crash the bitfield may miss a chunk that was written but never
 * claims one that was not. Every chunk read back is verified again.
 */
export class FsChunkStore implements ChunkStore {
  readonly dir: string
  private readonly contents = new ContentTable()
  /** Every change to files other than chunk data goes through here, one at a time. */
  private readonly meta = new SerialQueue()
  private closed = false

  private constructor (
    private readonly layout: StoreLayout,
    private readonly cache: ScanCache,
    private readonly init: FsChunkStoreInit,
    private readonly log: Logger
  ) {
    this.dir = layout.dir
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
      await writeFileAtomic(this.layout.manifestPath(contentId), encodeManifest(parsed))
      await createSparse(this.layout.partFor(filename), parsed.size)
      await writeFileAtomic(this.layout.statePath(contentId), encodeState({ filename, have }))
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
    const bytes = data.slice() // the caller may reuse its buffer while we write
    await verifyChunk(entry.manifest, index, bytes)
    if (entry.have.has(index)) return
    const running = entry.writes.get(index)
    if (running != null) return await running
    const write = this.writeChunk(entry, index, bytes)
    entry.writes.set(index, write)
    try {
      await write
    } finally {
      entry.writes.delete(index)
    }
  }

  async getChunk (contentId: ContentId, index: number, options?: AbortOptions): Promise<Uint8Array | undefined> {
    this.check(options)
    const entry = this.contents.get(contentId)
    if (entry == null || !entry.have.has(index)) return undefined
    const read = await readChunk(entry, index, e => this.pathOfEntry(e))
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
    await Promise.allSettled(entry.writes.values())
    await this.meta.run(async () => {
      if (entry.complete) {
        // a rename to the final name may have finished since remove()
        for (const name of new Set([...names, entry.filename, ...this.contents.namesOf(contentId)])) {
          this.contents.unname(name)
          this.cache.delete(name)
          await removeIfExists(this.layout.fileFor(name))
        }
        await this.cache.save()
      } else {
        await removeIfExists(this.layout.partFor(entry.filename))
        await removeIfExists(this.layout.statePath(contentId))
      }
      await removeIfExists(this.layout.manifestPath(contentId))
    })
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

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled(this.contents.values().flatMap(e => [...e.writes.values()]))
    await this.meta.idle()
    await this.cache.idle()
  }

  private async load (): Promise<void> {
    const { init, layout, log } = this
    const manifests = await loadManifests(layout, log)
    for (const p of await loadPartials(layout, manifests, log)) {
      this.contents.add(newEntry(p.contentId, p.manifest, p.filename, p.have))
    }
    const { files, present } = await scanFolder({
      layout, cache: this.cache, manifests, hash: init.scan ?? true, chunkSize: init.chunkSize, log, onProgress: init.onProgress, signal: init.signal
    })
    for (const file of files) await this.adopt(file, !manifests.has(file.contentId))
    let removed = 0
    for (const contentId of manifests.keys()) {
      if (this.contents.has(contentId)) continue
      await removeIfExists(layout.manifestPath(contentId)) // its file was deleted by hand
      removed++
      init.onProgress?.({ type: 'content-removed', contentId })
    }
    for (const name of this.cache.names()) if (!present.has(name)) this.cache.delete(name)
    await this.cache.save()
    const hashed = files.filter(f => f.hashed).length
    init.onProgress?.({ type: 'scan-done', hashed, cached: files.length - hashed, removed })
  }

  private async writeChunk (entry: Entry, index: number, bytes: Uint8Array): Promise<void> {
    try {
      await writeAt(this.layout.partFor(entry.filename), bytes, chunkRange(entry.manifest, index).start)
    } catch (err) {
      if (!entry.deleted && !entry.complete) throw err
    }
    if (entry.deleted) throw new UnknownContentError('The content was deleted while its chunk was written')
    if (entry.complete) return // a complete copy turned up meanwhile
    entry.have.set(index)
    await (entry.have.isComplete() ? this.finish(entry) : this.persist(entry))
  }

  /** Save the bitfield: flush the chunk data first, then replace the state file. */
  private async persist (entry: Entry): Promise<void> {
    if (entry.persisting != null) return await entry.persisting
    const persisting = this.meta.run(async () => {
      entry.persisting = undefined
      if (entry.deleted || entry.complete) return
      const have = entry.have.clone() // only bits whose data is written: flushed next
      await syncFile(this.layout.partFor(entry.filename))
      await writeFileAtomic(this.layout.statePath(entry.contentId), encodeState({ filename: entry.filename, have }))
    })
    entry.persisting = persisting
    await persisting
  }

  /** Every chunk is in: rename `.part` to a free final name, remember it, drop the state. */
  private async finish (entry: Entry): Promise<void> {
    await this.meta.run(async () => {
      if (entry.deleted || entry.complete) return
      const partPath = this.layout.partFor(entry.filename)
      await syncFile(partPath)
      const filename = await this.freeName(entry.filename, entry, false)
      const path = this.layout.fileFor(filename)
      await rename(partPath, path)
      Object.assign(entry, { complete: true, filename })
      this.contents.name(filename, entry.contentId)
      const stamp = await stampOf(path)
      if (stamp != null) this.cache.set(filename, stamp, entry.contentId)
      await this.cache.save()
      await removeIfExists(this.layout.statePath(entry.contentId))
      this.log('completed %s as %s', entry.contentId, filename)
    })
  }

  /** Take a complete file into the store (run on the meta queue, or while loading). */
  private async adopt (file: Found, writeManifest: boolean): Promise<Entry> {
    const { filename, contentId } = file
    const previous = this.contents.unname(filename)
    if (previous != null && previous !== contentId) await this.fileReplaced(filename, previous)
    let entry = this.contents.get(contentId)
    if (entry == null) {
      if (writeManifest) await writeFileAtomic(this.layout.manifestPath(contentId), encodeManifest(file.manifest))
      entry = newEntry(contentId, file.manifest, filename, Bitfield.full(chunkCount(file.manifest)), true)
      this.contents.add(entry)
    } else if (!entry.complete) {
      const partial = entry.filename
      Object.assign(entry, { complete: true, filename, have: Bitfield.full(chunkCount(entry.manifest)) })
      await removeIfExists(this.layout.partFor(partial))
      await removeIfExists(this.layout.statePath(contentId))
    }
    this.contents.name(filename, contentId)
    this.cache.set(filename, file.stamp, contentId)
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

  private async freeName (wanted: string, self: Entry | undefined, needPart: boolean): Promise<string> {
    return await chooseFilename(this.layout, wanted, { isReserved: name => this.contents.isReserved(name, self), needPart })
  }

  private pathOfEntry (entry: Entry): string {
    return entry.complete ? this.layout.fileFor(entry.filename) : this.layout.partFor(entry.filename)
  }

  private corrupt (entry: Entry, index: number, path: string): void {
    this.log.error('chunk %d of %s in %s no longer matches its manifest: not served', index, entry.contentId, path)
    if (!entry.complete) entry.have.clear(index) // fetch it again
    this.init.onCorruption?.({ contentId: entry.contentId, index, path })
  }

  private check (options: AbortOptions | undefined): void {
    if (this.closed) throw new StoreClosedError()
    options?.signal?.throwIfAborted()
  }
}
