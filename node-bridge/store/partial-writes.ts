import type { Logger } from '@libp2p/interface'
import { chunkRange } from '@core/content/manifest'
import { UnknownContentError } from '@core/store/errors'
import type { ContentTable, Entry } from './contents'
import { FileRetiredError } from './errors'
import { isNotFound, removeIfExists, renameFile, syncData, syncFile, writeAt, writeFileAtomic } from './file-io'
import { stampOf } from './hash-file'
import type { StoreLayout } from './layout'
import type { ReadHandles } from './read-handles'
import type { ScanCache } from './scan-cache'
import type { SerialQueue } from './serial-queue'
import { SharedFile } from './shared-file'
import { encodeState } from './state-file'
import { chooseFilename } from './unique-name'

export interface PartialWritesInit {
  layout: StoreLayout
  contents: ContentTable
  /** The store's queue for every change to files other than chunk data. */
  meta: SerialQueue
  readers: ReadHandles
  cache: ScanCache
  log: Logger
  /** Hand over a handle being closed, for the store's close() to wait for. */
  track(closing: Promise<void>): Promise<void>
}

/**
 * How chunks get into a partial download: written through the `.part`
 * handle kept open from the first chunk, claimed by the saved bitfield, and
 * at the last chunk flushed and renamed to the final name. The durability
 * this gives is in FsChunkStore's comment.
 */
export class PartialWrites {
  constructor (private readonly init: PartialWritesInit) {}

  /**
   * Write chunk `index` (already verified) and resolve once a saved
   * bitfield claims it, or the download is complete. Throws
   * UnknownContentError if the content was deleted meanwhile.
   */
  async write (entry: Entry, index: number, bytes: Uint8Array): Promise<void> {
    const { start } = chunkRange(entry.manifest, index)
    try {
      await this.part(entry).use(async handle => { await writeAt(handle, bytes, start) })
    } catch (err) {
      if (!entry.deleted && !entry.complete) {
        void this.close(entry) // the next chunk opens the file afresh
        throw err
      }
    }
    if (entry.deleted) throw new UnknownContentError('The content was deleted while its chunk was written')
    if (entry.complete) return // a complete copy turned up meanwhile
    entry.have.set(index) // its write() has returned: the bytes are in the page cache
    await (entry.have.isComplete() ? this.finish(entry) : this.save(entry))
  }

  /** Close the partial's `.part` once the writes under way are done (completed, deleted, or the store closing). */
  async close (entry: Entry): Promise<void> {
    const part = entry.part
    if (part == null) return
    entry.part = undefined
    await this.init.track(part.retire())
  }

  /** Flush the `.part` to the disk (the store is closing); false if that failed. */
  async flush (entry: Entry): Promise<boolean> {
    try {
      await syncFile(this.init.layout.partFor(entry.filename))
      return true
    } catch (err) {
      if (isNotFound(err)) return true // deleted by hand: the next open starts it over
      this.init.log.error('could not flush %s: %s', entry.filename, (err as Error).message)
      return false
    }
  }

  /** The `.part`, open for writing (opened at the first chunk). */
  private part (entry: Entry): SharedFile {
    if (entry.part != null) return entry.part
    if (entry.deleted || entry.complete) throw new FileRetiredError('The partial download is over')
    entry.part = SharedFile.open(this.init.layout.partFor(entry.filename), 'r+')
    return entry.part
  }

  /**
   * Save the bitfield: temporary file + rename, not flushed. Chunks written
   * while a save waits for its turn share it; one written while a save runs
   * waits for the next.
   */
  private async save (entry: Entry): Promise<void> {
    if (entry.persisting != null) return await entry.persisting
    const persisting = this.init.meta.run(async () => {
      entry.persisting = undefined
      if (entry.deleted || entry.complete) return
      const have = entry.have.clone() // only bits whose write() has returned
      await writeFileAtomic(this.init.layout.statePath(entry.contentId), encodeState({ filename: entry.filename, have }), { flush: false })
    })
    entry.persisting = persisting
    await persisting
  }

  /** Every chunk is in: flush, rename `.part` to a free final name, remember it, drop the state. */
  private async finish (entry: Entry): Promise<void> {
    const { layout, contents, readers, cache, log } = this.init
    await this.init.meta.run(async () => {
      if (entry.deleted || entry.complete) return
      const partPath = layout.partFor(entry.filename)
      await this.part(entry).use(syncData) // the download's one flush: whole on the disk before it is complete
      const filename = await chooseFilename(layout, entry.filename, { isReserved: name => contents.isReserved(name, entry), needPart: false })
      const path = layout.fileFor(filename)
      await renameFile(partPath, path)
      Object.assign(entry, { complete: true, filename })
      contents.name(filename, entry.contentId)
      await this.close(entry)
      await readers.forget(partPath)
      const stamp = await stampOf(path)
      if (stamp != null) cache.set(filename, stamp, entry.contentId)
      await cache.save()
      await removeIfExists(layout.statePath(entry.contentId))
      log('completed %s as %s', entry.contentId, filename)
    })
  }
}
