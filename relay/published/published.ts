import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { z } from 'zod'
import { filenameKey } from '@core/content/filename'
import { chunkCount, contentIdOf, contentIdSchema, decodeManifest, encodeManifest, type ContentId, type Manifest } from '@core/content/manifest'
import type { AbortOptions } from '@core/util/abort'
import { cleanTitle, MAX_TITLE_LENGTH, titleFromFilename } from '../library/titles'
import { writeFileAtomic } from './atomic-file'
import { NameTakenError, PublishedCatalogueFullError } from './errors'

/** One video a browser published: the peers hold its bytes, the relay only its manifest. */
export interface PublishedEntry {
  /** The manifest's name. */
  filename: string
  title: string
  size: number
  mime: string
  contentId: ContentId
  chunks: number
  chunkSize: number
  /** When it was published, in ms since the epoch. */
  publishedAt: number
  /** Seconds, as the publishing browser read it from the file (its <video>'s metadata); absent when unknown. */
  duration?: number
  /** Since when no peer holds it (ms since the epoch); absent while one does. */
  unheldSince?: number
  /** `library`: a video of the relay's own library whose files were removed, kept listed for the peers that hold it; absent: published from a browser. */
  from?: 'library'
}

export interface PublishedCatalogueInit {
  /** The relay's data folder: `published.json` and `published/<contentId>.json` go here. */
  dataDir: string
  /** An entry nobody has held for this long is dropped by `sweep()`. */
  graceMs: number
  /** Most entries at once (PublishedCatalogueFullError past it). */
  maxEntries: number
  /** Most bytes of manifest files at once (PublishedCatalogueFullError past it); default unbounded. */
  maxManifestBytes?: number
  now?: () => number
  logger?: ComponentLogger
  /** Problems an operator should see (a malformed file on disk); also logged. */
  onWarning?(message: string): void
}

export interface PublishOptions {
  /** Shown instead of the title the name gives. */
  title?: string
  /** Whether some peer holds the content now. */
  held: boolean
  /** Seconds, read by the publishing browser. */
  duration?: number
  /** Where it came from, when not a browser (see PublishedEntry.from). */
  from?: 'library'
  /**
   * Refuse (NameTakenError) a name that another published video has, or
   * that `taken` says is used elsewhere (the library), compared by
   * filenameKey; checked in the same turn as the entry is added, so two
   * publications cannot both take one name.
   */
  uniqueName?: { taken(key: string): string | undefined }
}

const indexSchema = z.object({
  version: z.literal(1),
  entries: z.array(z.object({
    contentId: contentIdSchema,
    title: z.string().max(MAX_TITLE_LENGTH),
    publishedAt: z.number().int().nonnegative(),
    unheldSince: z.number().int().nonnegative().nullable(),
    duration: z.number().positive().finite().optional(),
    from: z.literal('library').optional()
  }))
})
type IndexEntry = z.infer<typeof indexSchema>['entries'][number]

/**
 * The videos published from browsers, persisted in `<dataDir>/published.json`
 * (titles and times) and `<dataDir>/published/<contentId>.json` (manifests,
 * read on demand, never all held in memory). Files are replaced atomically;
 * a malformed one is reported and ignored, never a crash.
 *
 * An entry knows whether some peer holds its content (the owner says so with
 * `setHeld`); one nobody has held for `graceMs` is dropped by `sweep()`.
 * Changes that touch manifest files run one at a time.
 */
export class PublishedCatalogue {
  private readonly indexPath: string
  private readonly manifestsDir: string
  private readonly entriesById = new Map<ContentId, PublishedEntry>()
  /** The size of each entry's manifest file. */
  private readonly bytesById = new Map<ContentId, number>()
  private manifestBytes = 0
  private readonly now: () => number
  private readonly log: Logger
  private queue: Promise<unknown> = Promise.resolve()
  private writing?: Promise<void>
  private version = 0
  private written = 0

  private constructor (private readonly init: PublishedCatalogueInit) {
    this.indexPath = join(init.dataDir, 'published.json')
    this.manifestsDir = join(init.dataDir, 'published')
    this.now = init.now ?? Date.now
    this.log = (init.logger ?? defaultLogger()).forComponent('pipbingo:relay:published')
  }

  /** Load what a previous run published (what does not load is reported and left out). */
  static async open (init: PublishedCatalogueInit): Promise<PublishedCatalogue> {
    const catalogue = new PublishedCatalogue(init)
    await mkdir(catalogue.manifestsDir, { recursive: true })
    await catalogue.load()
    return catalogue
  }

  get size (): number {
    return this.entriesById.size
  }

  /** Bytes the manifest files take. */
  get bytes (): number {
    return this.manifestBytes
  }

  /** Newest first, then by filename. */
  entries (): PublishedEntry[] {
    return [...this.entriesById.values()]
      .sort((a, b) => b.publishedAt - a.publishedAt || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))
      .map(e => ({ ...e }))
  }

  byContentId (contentId: ContentId): PublishedEntry | undefined {
    const entry = this.entriesById.get(contentId)
    return entry == null ? undefined : { ...entry }
  }

  /** The newest entry published under `name`. */
  byFilename (name: string): PublishedEntry | undefined {
    return this.entries().find(e => e.filename === name)
  }

  async manifest (contentId: ContentId, _options?: AbortOptions): Promise<Manifest | undefined> {
    if (!this.entriesById.has(contentId)) return undefined
    try {
      return decodeManifest(await readFile(this.manifestPath(contentId)))
    } catch (err) {
      this.log.error('cannot read the manifest of %s: %s', contentId, (err as Error).message)
      return undefined
    }
  }

  /**
   * The file holding the manifest of a listed entry (the JSON `encodeManifest`
   * wrote, validated when it was published or loaded), to be sent as is.
   */
  manifestFile (contentId: ContentId): string | undefined {
    return this.entriesById.has(contentId) ? this.manifestPath(contentId) : undefined
  }

  /**
   * List a manifest (already validated by the caller). The content already
   * listed answers the existing entry (`created: false`).
   */
  async publish (manifest: Manifest, options: PublishOptions): Promise<{ entry: PublishedEntry, created: boolean }> {
    const contentId = await contentIdOf(manifest)
    return await this.exclusive(async () => {
      const existing = this.entriesById.get(contentId)
      if (existing != null) return { entry: { ...existing }, created: false }
      if (options.uniqueName != null) {
        const key = filenameKey(manifest.name)
        const mine = [...this.entriesById.values()].find(e => filenameKey(e.filename) === key)
        const where = mine != null ? `a video published from a browser is listed as "${mine.filename}"` : options.uniqueName.taken(key)
        if (where != null) throw new NameTakenError(`The name "${manifest.name}" is taken: ${where}. Rename the file and publish it again`)
      }
      if (this.entriesById.size >= this.init.maxEntries) await this.dropExpired()
      if (this.entriesById.size >= this.init.maxEntries) {
        throw new PublishedCatalogueFullError(`The relay already lists ${this.init.maxEntries} videos published from browsers, its limit: try again once some are no longer shared`)
      }
      const encoded = encodeManifest(manifest)
      const budget = this.init.maxManifestBytes ?? Infinity
      if (this.manifestBytes + encoded.byteLength > budget) await this.dropExpired()
      if (this.manifestBytes + encoded.byteLength > budget) {
        throw new PublishedCatalogueFullError(`The relay's published manifests take ${mib(this.manifestBytes)} of the ${mib(budget)} it keeps for them, and this one is ${mib(encoded.byteLength)}: try again once some are no longer shared`)
      }
      const now = this.now()
      const entry: PublishedEntry = {
        filename: manifest.name,
        title: cleanTitle(options.title ?? '') || titleFromFilename(manifest.name),
        size: manifest.size,
        mime: manifest.mime,
        contentId,
        chunks: chunkCount(manifest),
        chunkSize: manifest.chunkSize,
        publishedAt: now
      }
      if (options.duration != null) entry.duration = options.duration
      if (options.from != null) entry.from = options.from
      if (!options.held) entry.unheldSince = now
      await writeFileAtomic(this.manifestPath(contentId), encoded)
      this.entriesById.set(contentId, entry)
      this.account(contentId, encoded.byteLength)
      try {
        await this.persist()
      } catch (err) {
        this.entriesById.delete(contentId)
        this.account(contentId, 0)
        await rm(this.manifestPath(contentId), { force: true })
        throw err
      }
      this.log('published %s (%s, %d bytes)', contentId, entry.filename, entry.size)
      return { entry: { ...entry }, created: true }
    })
  }

  /** Say whether some peer holds a content; true when that changed the entry. */
  setHeld (contentId: ContentId, held: boolean): boolean {
    const entry = this.entriesById.get(contentId)
    if (entry == null || held === (entry.unheldSince == null)) return false
    if (held) delete entry.unheldSince
    else entry.unheldSince = this.now()
    this.persist().catch((err: Error) => { this.log.error('cannot save published.json: %s', err.message) })
    return true
  }

  /** Drop the entries nobody has held for the grace period; returns them. */
  async sweep (): Promise<PublishedEntry[]> {
    return await this.exclusive(async () => await this.dropExpired())
  }

  /** Drop an entry (its content joined the library, say); true if there was one. */
  async remove (contentId: ContentId): Promise<boolean> {
    return await this.exclusive(async () => (await this.drop([contentId])).length > 0)
  }

  /** Wait for the changes under way and the last write. */
  async close (): Promise<void> {
    await this.queue.catch(() => {})
    await this.writing?.catch(() => {})
  }

  private async dropExpired (): Promise<PublishedEntry[]> {
    const now = this.now()
    const expired = [...this.entriesById.values()]
      .filter(e => e.unheldSince != null && now - e.unheldSince >= this.init.graceMs)
    return await this.drop(expired.map(e => e.contentId))
  }

  private async drop (contentIds: ContentId[]): Promise<PublishedEntry[]> {
    const dropped = contentIds.flatMap(id => {
      const entry = this.entriesById.get(id)
      this.entriesById.delete(id)
      this.account(id, 0)
      return entry == null ? [] : [entry]
    })
    if (dropped.length === 0) return []
    await this.persist()
    for (const e of dropped) {
      await rm(this.manifestPath(e.contentId), { force: true })
      this.log('dropped %s (%s): nobody holds it', e.contentId, e.filename)
    }
    return dropped
  }

  /** Write the index; resolves once a write that includes the current state has landed. */
  private async persist (): Promise<void> {
    const wanted = ++this.version
    while (this.written < wanted) {
      if (this.writing == null) {
        const version = this.version
        const data = JSON.stringify({ version: 1, entries: [...this.entriesById.values()].map(toIndexEntry) })
        this.writing = writeFileAtomic(this.indexPath, data)
          .then(() => { this.written = Math.max(this.written, version) })
          .finally(() => { this.writing = undefined })
      }
      await this.writing
    }
  }

  private async exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return await run
  }

  private async load (): Promise<void> {
    let raw: string
    try {
      raw = await readFile(this.indexPath, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.warn(`cannot read ${this.indexPath} (${(err as Error).message}): starting with no published videos`)
        return
      }
      raw = '{"version":1,"entries":[]}'
    }
    let index: IndexEntry[]
    try {
      index = indexSchema.parse(JSON.parse(raw)).entries
    } catch (err) {
      const kept = `${this.indexPath}.corrupt`
      await rename(this.indexPath, kept).catch(() => {})
      this.warn(`${this.indexPath} is malformed (${describe(err)}): starting with no published videos; the file is kept as ${kept}`)
      return
    }
    let skipped = 0
    for (const item of index) {
      try {
        const { entry, bytes } = await this.loadEntry(item)
        this.entriesById.set(item.contentId, entry)
        this.account(item.contentId, bytes)
      } catch (err) {
        skipped++
        this.warn(`leaving published video ${item.contentId} out: ${(err as Error).message}`)
      }
    }
    // manifests no entry names: a crash between two writes, or entries left out above
    const keep = new Set([...this.entriesById.keys()].map(id => `${id}.json`))
    for (const name of await readdir(this.manifestsDir)) {
      if (!keep.has(name)) await rm(join(this.manifestsDir, name), { force: true, recursive: true })
    }
    if (skipped > 0) await this.persist()
    this.log('%d published videos', this.entriesById.size)
  }

  private async loadEntry (item: IndexEntry): Promise<{ entry: PublishedEntry, bytes: number }> {
    if (this.entriesById.has(item.contentId)) throw new Error('listed twice')
    const file = await readFile(this.manifestPath(item.contentId))
    const manifest = decodeManifest(file)
    if (await contentIdOf(manifest) !== item.contentId) throw new Error('its manifest does not match its content id')
    const entry: PublishedEntry = {
      filename: manifest.name,
      title: cleanTitle(item.title) || titleFromFilename(manifest.name),
      size: manifest.size,
      mime: manifest.mime,
      contentId: item.contentId,
      chunks: chunkCount(manifest),
      chunkSize: manifest.chunkSize,
      publishedAt: item.publishedAt
    }
    if (item.unheldSince != null) entry.unheldSince = item.unheldSince
    if (item.duration != null) entry.duration = item.duration
    if (item.from != null) entry.from = item.from
    return { entry, bytes: file.byteLength }
  }

  /** Keep `manifestBytes` the sum of the listed manifests' sizes (0: the entry left). */
  private account (contentId: ContentId, bytes: number): void {
    this.manifestBytes += bytes - (this.bytesById.get(contentId) ?? 0)
    if (bytes === 0) this.bytesById.delete(contentId)
    else this.bytesById.set(contentId, bytes)
  }

  private manifestPath (contentId: ContentId): string {
    return join(this.manifestsDir, `${contentIdSchema.parse(contentId)}.json`)
  }

  private warn (message: string): void {
    this.log.error(message)
    this.init.onWarning?.(message)
  }
}

function toIndexEntry (e: PublishedEntry): IndexEntry {
  return { contentId: e.contentId, title: e.title, publishedAt: e.publishedAt, unheldSince: e.unheldSince ?? null, ...(e.duration == null ? {} : { duration: e.duration }), ...(e.from == null ? {} : { from: e.from }) }
}

function mib (bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function describe (err: unknown): string {
  if (err instanceof z.ZodError) return err.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  return (err as Error).message
}
