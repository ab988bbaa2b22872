import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { filenameKey } from '@core/content/filename'
import { contentIdOf, type ContentId, type Manifest } from '@core/content/manifest'
import type { TrackerRegistry } from '@core/protocols/tracker/registry'
import { videoFields } from '@core/protocols/catalogue'
import type { CatalogueEntry, Library } from './library/index'
import type { LeftVideo } from './library/library'
import type { RemoteEntry } from './peers/index'
import type { PublishedCatalogue, PublishedEntry } from './published/index'

/** One video as `GET /list` and `GET /events` show it. */
export interface ListEntry {
  filename: string
  title: string
  size: number
  mime: string
  contentId: ContentId
  chunks: number
  chunkSize: number
  /** Seconds; library videos only, when known. */
  duration?: number
  /** `/videos/<encoded filename>`: present only when the relay holds the bytes (`origin`). */
  url?: string
  /** True when the relay holds the bytes (a library video). */
  origin: boolean
  /**
   * Where the video came from: the relay's library (still there when
   * `origin`; removed, peers keep it, when not), a browser that published
   * it, or the library of another relay of the network (`relay`).
   */
  source: 'library' | 'browser' | 'relay'
  /** For `source: 'relay'`: the peer id of the relay whose library holds it. */
  relay?: string
  /** Peers other than the relay that showed they hold any part of it (they answered the relay's HAVE: holders.ts). */
  peers: number
  /** Peers other than the relay that showed they hold all of it. */
  seeders: number
}

/**
 * What `GET /manifest/:filenameOrId` answers (`{ contentId, manifest, url? }`),
 * and where from: a library manifest as an object, or a published one as
 * the file that holds its JSON (sent as is: never parsed and re-serialised
 * per request).
 */
export type ManifestSource =
  | { contentId: ContentId, manifest: Manifest, url?: string, relay?: string }
  | { contentId: ContentId, file: string }

/** How a video published from a browser is listed. */
export interface PublishInput {
  title?: string
  duration?: number
  /** `library`: a library video kept listed for its peers (its name is the library's, never checked). */
  from?: 'library'
  /** Refuse a name the catalogue already lists for another video (NameTakenError): every browser publication. */
  uniqueName?: boolean
}

/** The videos of other relays' libraries (relay/peers: RemoteCatalogues). */
export interface RemoteVideos {
  entries(): readonly RemoteEntry[]
  byContentId(contentId: ContentId): RemoteEntry | undefined
  /** Asked of the relay that lists it and verified (RemoteManifestError when that fails). */
  manifest(contentId: ContentId, options?: { signal?: AbortSignal }): Promise<Manifest | undefined>
  onChange(listener: () => void): () => void
}

export interface CatalogueInit {
  library: Library
  published: PublishedCatalogue
  registry: TrackerRegistry
  /** Other relays' library videos, listed after this relay's own; default none. */
  remote?: RemoteVideos
  /** Problems the operator should see (a remote video left out for its name). */
  onWarning?(message: string): void
  logger?: ComponentLogger
  /** How often `start()` looks for expiries (tracker entries, the published grace); default 2 s. */
  sweepIntervalMs?: number
  /** A content is listed now (published, or added to the library): its holders are asked what they hold (holders.ts). */
  onListed?(contentId: ContentId): void
}

export type CatalogueChangeListener = () => void

const DEFAULT_SWEEP_INTERVAL_MS = 2000

/**
 * The catalogue the relay shows: its library (videos it holds) and the
 * videos published from browsers (only peers hold them), newest first, each
 * with how many peers hold it according to the tracker. It keeps the
 * published entries told whether anyone holds them, and tells its listeners
 * whenever what `list()` shows may have changed.
 */
export class Catalogue {
  private readonly library: Library
  private readonly published: PublishedCatalogue
  private readonly registry: TrackerRegistry
  private readonly log: Logger
  private readonly listeners = new Set<CatalogueChangeListener>()
  private readonly unsubscribe: Array<() => void>
  /** Remote videos left out for a name this relay lists, already logged (`relay contentId`). */
  private readonly shadowed = new Set<string>()
  /** The other relays' contents listed at the last change (the new ones' holders are asked). */
  private remoteListed = new Set<ContentId>()
  private timer?: ReturnType<typeof setInterval>

  constructor (private readonly init: CatalogueInit) {
    this.library = init.library
    this.published = init.published
    this.registry = init.registry
    this.log = (init.logger ?? defaultLogger()).forComponent('pipbingo:relay:catalogue')
    this.unsubscribe = [
      this.registry.onChange(ids => { this.guard(() => { this.holdersChanged(ids) }) }),
      this.library.on('added', entry => { this.guard(() => { this.joinedLibrary(entry.contentId) }) }),
      this.library.on('removed', (contentId, left) => { this.guard(() => { this.leftLibrary(contentId, left) }) }),
      this.library.on('changed', () => { this.guard(() => { this.changed() }) }),
      init.remote?.onChange(() => { this.guard(() => { this.remoteChanged() }) }) ?? (() => {})
    ]
    for (const e of this.published.entries()) this.published.setHeld(e.contentId, this.isHeld(e.contentId))
  }

  /**
   * Newest first (file time for the library, publication time for the
   * others), then by filename; then the other relays' videos, in the order
   * of the relays and of their lists.
   */
  list (): ListEntry[] {
    const library = this.library.entries().map(e => ({ time: this.library.fileOf(e.contentId)?.modified.getTime() ?? 0, entry: this.fromLibrary(e) }))
    const published = this.published.entries()
      .filter(e => this.library.byContentId(e.contentId) == null)
      .map(e => ({ time: e.publishedAt, entry: this.fromPublished(e) }))
    const local = [...library, ...published]
      .sort((a, b) => b.time - a.time || compare(a.entry.filename, b.entry.filename))
      .map(e => e.entry)
    return [...local, ...this.remoteEntries().map(e => this.fromRemote(e))]
  }

  entry (contentId: ContentId): ListEntry | undefined {
    const inLibrary = this.library.byContentId(contentId)
    if (inLibrary != null) return this.fromLibrary(inLibrary)
    const published = this.published.byContentId(contentId)
    if (published != null) return this.fromPublished(published)
    const remote = this.remoteById(contentId)
    return remote == null ? undefined : this.fromRemote(remote)
  }

  /**
   * A manifest by content id or by filename (a library file first, then the
   * newest published one); a published manifest comes as its file (see ManifestSource).
   */
  async manifestSource (key: { contentId: ContentId } | { filename: string }): Promise<ManifestSource | undefined> {
    const inLibrary = 'contentId' in key ? this.library.byContentId(key.contentId) : this.library.byFilename(key.filename)
    if (inLibrary != null) {
      const manifest = await this.library.manifest(inLibrary.contentId)
      return manifest == null ? undefined : { contentId: inLibrary.contentId, manifest, url: inLibrary.url }
    }
    const published = 'contentId' in key ? this.published.byContentId(key.contentId) : this.published.byFilename(key.filename)
    if (published != null) {
      const file = this.published.manifestFile(published.contentId)
      return file == null ? undefined : { contentId: published.contentId, file }
    }
    const remote = 'contentId' in key ? this.remoteById(key.contentId) : this.remoteByFilename(key.filename)
    if (remote == null || this.init.remote == null) return undefined
    const manifest = await this.init.remote.manifest(remote.contentId)
    // the relay that seeds it: a client finds it through the DHT, and takes it for the origin
    return manifest == null ? undefined : { contentId: remote.contentId, manifest, relay: remote.relay }
  }

  /**
   * Why `name` cannot be published for another content: the video listed
   * under it (compared by filenameKey: NFC and case-folded), or undefined
   * when it is free. A library file's name is never given to a published video.
   */
  nameTaken (name: string): string | undefined {
    const key = filenameKey(name)
    return this.libraryNameTaken(key) ?? (() => {
      const mine = this.published.entries().find(e => filenameKey(e.filename) === key)
      return mine == null ? undefined : `a video published from a browser is listed as "${mine.filename}"`
    })()
  }

  /**
   * True when `filename` names no library file but a published video or
   * another relay's: only peers (and that relay) have its bytes.
   */
  peerOnly (filename: string): boolean {
    return this.library.byFilename(filename) == null && (this.published.byFilename(filename) != null || this.remoteByFilename(filename) != null)
  }

  /**
   * List a video a browser published (its manifest already validated).
   * Content the catalogue already shows answers its entry, `created: false`.
   */
  async publish (manifest: Manifest, input: PublishInput = {}): Promise<{ entry: ListEntry, created: boolean }> {
    const contentId = await contentIdOf(manifest)
    const inLibrary = this.library.byContentId(contentId)
    if (inLibrary != null) return { entry: this.fromLibrary(inLibrary), created: false }
    const { entry, created } = await this.published.publish(manifest, {
      title: input.title,
      duration: input.duration,
      from: input.from,
      held: this.isHeld(contentId),
      ...(input.uniqueName === true ? { uniqueName: { taken: key => this.libraryNameTaken(key) } } : {})
    })
    // a peer may have announced it while the manifest was being written
    this.published.setHeld(contentId, this.isHeld(contentId))
    if (created) {
      this.guard(() => { this.init.onListed?.(contentId) })
      this.changed()
    }
    return { entry: this.fromPublished(this.published.byContentId(contentId) ?? entry), created }
  }

  /** Notice expired tracker entries, and drop published videos nobody held for the grace period. */
  async sweep (): Promise<void> {
    this.registry.sweep()
    if ((await this.published.sweep()).length > 0) this.changed()
  }

  /** Be told when `list()` may show something else; returns the unsubscribe function. */
  onChange (listener: CatalogueChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Sweep on a timer until `stop()`. */
  start (): void {
    this.timer ??= setInterval(() => {
      this.sweep().catch((err: Error) => { this.log.error('sweep failed: %s', err.message) })
    }, this.init.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS)
    this.timer.unref?.()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    for (const off of this.unsubscribe.splice(0)) off()
    this.listeners.clear()
  }

  private holdersChanged (contentIds: readonly ContentId[]): void {
    let shown = false
    for (const id of contentIds) {
      if (this.library.byContentId(id) != null || this.remoteById(id) != null) shown = true
      else if (this.published.byContentId(id) != null) {
        this.published.setHeld(id, this.isHeld(id))
        shown = true
      }
    }
    if (shown) this.changed()
  }

  /**
   * A video's last file left library/. Peers that hold it keep it
   * watchable: it stays listed as a video only peers share (like one
   * published from a browser, with the same grace once nobody holds it);
   * nobody holding it, it leaves the list.
   */
  private leftLibrary (contentId: ContentId, left: LeftVideo): void {
    if (!this.isHeld(contentId)) {
      this.changed()
      return
    }
    this.publish(left.manifest, { title: left.title, duration: left.duration, from: 'library' }).then(() => { this.changed() }, (err: Error) => {
      this.log.error('cannot keep %s listed for the peers that hold it: %s', contentId, err.message)
      this.changed()
    })
  }

  /** The relay now holds the bytes itself: the library entry replaces the published one. */
  private joinedLibrary (contentId: ContentId): void {
    this.published.remove(contentId)
      .catch((err: Error) => { this.log.error('cannot drop published %s: %s', contentId, err.message) })
    this.init.onListed?.(contentId)
    this.changed()
  }

  /** Other relays' videos changed: the new ones' holders are asked what they hold, the list is told. */
  private remoteChanged (): void {
    const ids = new Set(this.remoteEntries().map(e => e.contentId))
    for (const id of ids) if (!this.remoteListed.has(id)) this.init.onListed?.(id)
    this.remoteListed = ids
    const listed = new Set(this.init.remote?.entries().map(e => `${e.relay} ${e.contentId}`))
    for (const key of this.shadowed) if (!listed.has(key)) this.shadowed.delete(key)
    this.changed()
  }

  /**
   * The other relays' videos this relay lists: not those whose content it
   * lists itself, nor those under a name (filenameKey) it lists for another
   * video — local names win (logged once per video).
   */
  private remoteEntries (): RemoteEntry[] {
    const remote = this.init.remote?.entries() ?? []
    if (remote.length === 0) return []
    const names = new Set<string>()
    for (const e of this.library.entries()) for (const n of [e.filename, ...(e.alsoNamed ?? [])]) names.add(filenameKey(n))
    for (const e of this.published.entries()) names.add(filenameKey(e.filename))
    return remote.filter(e => {
      if (this.library.byContentId(e.contentId) != null || this.published.byContentId(e.contentId) != null) return false
      if (!names.has(filenameKey(e.filename))) return true
      const key = `${e.relay} ${e.contentId}`
      if (!this.shadowed.has(key)) {
        this.shadowed.add(key)
        this.init.onWarning?.(`Not listing "${e.filename}" of peer relay ${e.relay}: this relay lists another video under that name`)
      }
      return false
    })
  }

  private remoteById (contentId: ContentId): RemoteEntry | undefined {
    return this.init.remote?.byContentId(contentId) == null ? undefined : this.remoteEntries().find(e => e.contentId === contentId)
  }

  private remoteByFilename (filename: string): RemoteEntry | undefined {
    return this.remoteEntries().find(e => e.filename === filename)
  }

  private libraryNameTaken (key: string): string | undefined {
    const e = this.library.entries().find(e => [e.filename, ...(e.alsoNamed ?? [])].some(n => filenameKey(n) === key))
    return e == null ? undefined : `the relay's own library has "${e.filename}"`
  }

  private isHeld (contentId: ContentId): boolean {
    return this.registry.countHolders(contentId).peers > 0
  }

  private fromLibrary (e: CatalogueEntry): ListEntry {
    return { ...e, origin: true, source: 'library', ...this.registry.countHolders(e.contentId) }
  }

  private fromPublished (e: PublishedEntry): ListEntry {
    const { peers, seeders } = this.registry.countHolders(e.contentId)
    return {
      ...videoFields(e),
      origin: false,
      source: e.from ?? 'browser',
      peers,
      seeders
    }
  }

  private fromRemote (e: RemoteEntry): ListEntry {
    return {
      ...videoFields(e),
      origin: false,
      source: 'relay',
      relay: e.relay,
      ...this.registry.countHolders(e.contentId)
    }
  }

  private changed (): void {
    for (const listener of [...this.listeners]) this.guard(listener)
  }

  private guard (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.log.error('a catalogue listener failed: %s', (err as Error).message)
    }
  }
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
