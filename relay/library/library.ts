import { watch as fsWatch, type FSWatcher } from 'node:fs'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { CONTENT_ID_PATTERN } from '@core/content/constants'
import { chunkCount, type ContentId, type Manifest } from '@core/content/manifest'
import type { AbortOptions } from '@core/util/abort'
import { FsChunkStore, type ScanProgress } from '../../node-bridge/store/index'
import { UnknownVideoError } from './errors'
import { readMatroskaDuration } from './matroska-duration'
import { readMp4Duration } from './mp4-duration'
import { TitleBook } from './titles'

/** One video of the catalogue, as `GET /list` returns it. */
export interface CatalogueEntry {
  /** The file's name in `library/`: the key of `/videos/:filename`. */
  filename: string
  title: string
  size: number
  mime: string
  contentId: ContentId
  chunks: number
  chunkSize: number
  /** Seconds, from the MP4 `mvhd` box or Matroska/WebM `Info/Duration`; absent when unknown. */
  duration?: number
  /** `/videos/<encoded filename>`, relative to the relay's origin. */
  url: string
  /** Other files in `library/` with the same bytes (the video is listed once, under `filename`). */
  alsoNamed?: string[]
}

/** Where the bytes of a video are, for HTTP serving. */
export interface LibraryFile {
  path: string
  size: number
  modified: Date
}

export interface LibraryInit {
  /** The library folder (created if missing). */
  dir: string
  /** Manifest files that are not in the scan cache yet (default true). */
  scan?: boolean
  onProgress?(event: ScanProgress): void
  logger?: ComponentLogger
  signal?: AbortSignal
}

export interface AddUploadedFileOptions extends AbortOptions {
  /** A better title than the filename gives (an upload's original name). */
  title?: string
}

export interface AddedVideo {
  entry: CatalogueEntry
  /** False when the bytes were already in the library: the entry is the existing one. */
  created: boolean
}

export type AddedListener = (entry: CatalogueEntry) => void
/** A video left the library (its last file was deleted, moved or replaced by other bytes): what it was. */
export type RemovedListener = (contentId: ContentId, left: LeftVideo) => void
/** What a video that left the library was: enough to keep it listed for the peers that hold it. */
export interface LeftVideo { manifest: Manifest, title: string, duration?: number }
/** A listed video's names changed (a duplicate came or went). */
export type ChangedListener = (entry: CatalogueEntry) => void

/** How long the folder must be quiet about a name before it is looked at (a copy in progress fires many events). */
const WATCH_SETTLE_MS = 500

interface Video { entry: CatalogueEntry, path: string, modified: Date }

/**
 * The relay's catalogue: the complete videos of an FsChunkStore over the
 * `library/` folder, with titles and durations. The store is exposed so
 * main.ts can serve chunks over libp2p from it.
 *
 * `entries()` is sorted newest first (file modification time), then by
 * filename: a fresh upload is on top of the list.
 */
export class Library {
  readonly dir: string
  /** Uploads are written here, then renamed into `dir` when complete. */
  readonly uploadsDir: string
  readonly store: FsChunkStore
  private readonly titles: TitleBook
  private readonly videos = new Map<ContentId, Video>()
  private readonly listeners = new Set<AddedListener>()
  private readonly removedListeners = new Set<RemovedListener>()
  private readonly changedListeners = new Set<ChangedListener>()
  private readonly log: Logger
  private watcher?: FSWatcher
  /** Names the folder spoke of, waiting for it to settle. */
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>()
  /** Size and mtime of each file as last indexed: a 'change' event with the same stamp is nothing. */
  private readonly stamps = new Map<string, string>()
  private reconciling: Promise<void> = Promise.resolve()
  private closed = false

  private constructor (store: FsChunkStore, titles: TitleBook, log: Logger) {
    this.store = store
    this.dir = store.dir
    this.uploadsDir = join(store.dir, '.pipbingo', 'uploads')
    this.titles = titles
    this.log = log
  }

  /** Open the store (scanning `dir`), drop uploads a crash left half-written, build the catalogue. */
  static async open (init: LibraryInit): Promise<Library> {
    const store = await FsChunkStore.open({
      dir: init.dir, scan: init.scan, onProgress: init.onProgress, logger: init.logger, signal: init.signal
    })
    try {
      const log = (init.logger ?? defaultLogger()).forComponent('pipbingo:relay:library')
      const library = new Library(store, await TitleBook.load(join(store.dir, '.pipbingo')), log)
      await mkdir(library.uploadsDir, { recursive: true })
      for (const name of await readdir(library.uploadsDir)) await rm(join(library.uploadsDir, name), { force: true, recursive: true })
      for (const contentId of await store.listContents()) {
        if (!store.isComplete(contentId)) continue
        try {
          await library.index(contentId)
        } catch (err) {
          log.error('leaving %s out of the catalogue: %s', store.filenameOf(contentId), (err as Error).message)
        }
      }
      log('%d videos in %s', library.size, store.dir)
      return library
    } catch (err) {
      await store.close()
      throw err
    }
  }

  entries (): CatalogueEntry[] {
    return [...this.videos.values()]
      .sort((a, b) => b.modified.getTime() - a.modified.getTime() || compareNames(a.entry.filename, b.entry.filename))
      .map(v => ({ ...v.entry }))
  }

  /** The video named `name` (a second name for the same bytes finds the content too). */
  byFilename (name: string): CatalogueEntry | undefined {
    const contentId = this.store.contentIdOf(name)
    return contentId == null ? undefined : this.byContentId(contentId)
  }

  byContentId (contentId: ContentId): CatalogueEntry | undefined {
    if (!CONTENT_ID_PATTERN.test(contentId)) return undefined
    const video = this.videos.get(contentId)
    return video == null ? undefined : { ...video.entry }
  }

  /** Path, size and mtime of a video's complete file; undefined if unknown. */
  fileOf (contentId: ContentId): LibraryFile | undefined {
    const video = this.videos.get(contentId)
    return video == null ? undefined : { path: video.path, size: video.entry.size, modified: video.modified }
  }

  async manifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
    if (!this.videos.has(contentId)) return undefined
    return await this.store.getManifest(contentId, options)
  }

  /**
   * Adopt a complete file just placed in the folder: manifest it (streaming),
   * add it to the catalogue and tell the 'added' listeners. Bytes the library
   * already holds stay a second name of that content (`created: false`, no event).
   */
  async addUploadedFile (filename: string, options: AddUploadedFileOptions = {}): Promise<AddedVideo> {
    const { contentId } = await this.store.addFile(filename, { signal: options.signal })
    const existing = this.videos.get(contentId)
    if (existing != null) return { entry: { ...existing.entry }, created: false }
    if (options.title != null) await this.titles.set(filename, options.title)
    const entry = await this.index(contentId)
    for (const listener of this.listeners) {
      try {
        listener({ ...entry })
      } catch (err) {
        this.log.error('an "added" listener failed: %s', (err as Error).message)
      }
    }
    return { entry: { ...entry }, created: true }
  }

  /**
   * Listen for new videos (to announce them to the tracker), videos that
   * left, and videos whose names changed; returns the unsubscribe function.
   */
  on (event: 'added', listener: AddedListener): () => void
  on (event: 'removed', listener: RemovedListener): () => void
  on (event: 'changed', listener: ChangedListener): () => void
  on (event: 'added' | 'removed' | 'changed', listener: AddedListener | RemovedListener | ChangedListener): () => void {
    const set = event === 'added' ? this.listeners : event === 'removed' ? this.removedListeners : event === 'changed' ? this.changedListeners : undefined
    if (set == null) throw new TypeError(`unknown event ${String(event)}`)
    ;(set as Set<typeof listener>).add(listener)
    return () => { (set as Set<typeof listener>).delete(listener) }
  }

  /**
   * Watch the folder: a file copied in is manifested and listed, one
   * changed in place is listed with its new bytes, one deleted or moved
   * away leaves the catalogue (unless another file has the same bytes), each
   * within about a second of the folder going quiet about it. Dot-files and
   * partial downloads are ignored.
   */
  watch (): void {
    if (this.watcher != null || this.closed) return
    this.watcher = fsWatch(this.dir, { persistent: false }, (_event, name) => {
      if (name == null || name.startsWith('.') || name.toLowerCase().endsWith('.part')) return
      clearTimeout(this.pending.get(name))
      this.pending.set(name, setTimeout(() => {
        this.pending.delete(name)
        this.reconciling = this.reconciling.then(async () => { await this.reconcile(name) })
      }, WATCH_SETTLE_MS))
    })
    this.watcher.on('error', err => { this.log.error('watching %s failed: %s', this.dir, err.message) })
  }

  /** Bring the catalogue in line with what the folder holds under `name` now. */
  private async reconcile (name: string): Promise<void> {
    if (this.closed) return
    try {
      const info = await stat(join(this.dir, name)).catch(() => undefined)
      if (info?.isFile() === true) {
        const stamp = `${info.size}:${info.mtimeMs}`
        if (this.stamps.get(name) === stamp && this.store.contentIdOf(name) != null) return
        const before = this.store.contentIdOf(name)
        const left = before == null ? undefined : await this.leaving(before)
        const { entry, created } = await this.addUploadedFile(name)
        this.stamps.set(name, stamp)
        if (!created) this.renamed(entry.contentId)
        if (before != null && before !== entry.contentId && left != null) this.dropIfGone(before, left)
        this.log('%s: %s in the catalogue', name, created ? 'new video' : 'another name of a video')
      } else if (info == null) {
        this.stamps.delete(name)
        const held = this.store.contentIdOf(name)
        const left = held == null ? undefined : await this.leaving(held)
        const removed = await this.store.fileRemoved(name)
        if (removed == null) return
        if (removed.gone && left != null) this.dropIfGone(removed.contentId, left)
        else this.renamed(removed.contentId)
        this.log('%s: gone from the folder', name)
      }
    } catch (err) {
      this.log.error('%s: cannot bring it into the catalogue: %s', name, (err as Error).message)
    }
  }

  /** A video's names changed: re-read them, tell the listeners. */
  private renamed (contentId: ContentId): void {
    const video = this.videos.get(contentId)
    if (video == null) return
    const names = this.store.namesOf(contentId)
    const filename = names[0] ?? video.entry.filename
    video.entry = { ...video.entry, filename, url: `/videos/${encodeURIComponent(filename)}`, title: this.titles.titleOf(filename) }
    const also = names.slice(1)
    if (also.length > 0) video.entry.alsoNamed = also
    else delete video.entry.alsoNamed
    const path = this.store.pathOf(contentId)
    if (path != null) video.path = path
    this.tell(this.changedListeners, { ...video.entry })
  }

  /** What a video was, read before its last file goes (the store forgets its manifest then). */
  private async leaving (contentId: ContentId): Promise<LeftVideo | undefined> {
    const manifest = await this.store.getManifest(contentId)
    const video = this.videos.get(contentId)
    return manifest == null || video == null ? undefined : { manifest, title: video.entry.title, duration: video.entry.duration }
  }

  /** The store no longer holds a content's bytes: it leaves the library. */
  private dropIfGone (contentId: ContentId, left: LeftVideo): void {
    if (this.store.isComplete(contentId) || !this.videos.delete(contentId)) return
    this.tell(this.removedListeners, contentId, left)
  }

  private tell<A extends unknown[]> (listeners: Set<(...args: A) => void>, ...args: A): void {
    for (const listener of listeners) {
      try {
        listener(...args)
      } catch (err) {
        this.log.error('a library listener failed: %s', (err as Error).message)
      }
    }
  }

  get size (): number {
    return this.videos.size
  }

  async close (): Promise<void> {
    this.closed = true
    this.watcher?.close()
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
    await this.reconciling
    this.listeners.clear()
    this.removedListeners.clear()
    this.changedListeners.clear()
    await this.store.close()
  }

  private async index (contentId: ContentId): Promise<CatalogueEntry> {
    const manifest = await this.store.getManifest(contentId)
    const filename = this.store.filenameOf(contentId)
    const path = this.store.pathOf(contentId)
    if (manifest == null || filename == null || path == null) throw new UnknownVideoError(`The store has no complete file for ${contentId}`)
    const stats = await stat(path)
    const entry: CatalogueEntry = {
      filename,
      title: this.titles.titleOf(filename),
      size: manifest.size,
      mime: manifest.mime,
      contentId,
      chunks: chunkCount(manifest),
      chunkSize: manifest.chunkSize,
      url: `/videos/${encodeURIComponent(filename)}`
    }
    const also = this.store.namesOf(contentId).slice(1)
    if (also.length > 0) entry.alsoNamed = also
    const duration = await durationOf(path, manifest.mime)
    if (duration != null) entry.duration = duration
    this.videos.set(contentId, { entry, path, modified: stats.mtime })
    this.stamps.set(filename, `${stats.size}:${stats.mtimeMs}`)
    return entry
  }
}

const ISO_BMFF = new Set(['video/mp4', 'video/quicktime', 'audio/mp4'])
const MATROSKA = new Set(['video/webm', 'video/x-matroska', 'audio/webm'])

async function durationOf (path: string, mime: string): Promise<number | undefined> {
  const read = ISO_BMFF.has(mime) ? readMp4Duration : MATROSKA.has(mime) ? readMatroskaDuration : undefined
  if (read == null) return undefined
  try {
    const seconds = await read(path)
    return seconds == null ? undefined : Math.round(seconds * 1000) / 1000
  } catch {
    return undefined
  }
}

function compareNames (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
