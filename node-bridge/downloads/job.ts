import { chunkCount, chunkLength, type ContentId, type Manifest } from '@core/content/manifest'
import type { Bitfield } from '@core/swarm/bitfield'
import type { ChunkEvent, SwarmSession } from '@core/swarm/session'
import type { AbortOptions } from '@core/util/abort'
import { DownloadCancelledError, DownloadNotStartedError, failureCodeOf, type FailureCode } from './errors'
import { round2, SpeedMeter } from './speed'
import type { DownloadState } from './states'
import { isoSeconds, type DownloadStatus } from './status'

/** What a job needs from the bridge to fetch its content. */
export interface JobSource {
  /** The manifest of a content: the cache's, else the relay's (verified against the id). */
  manifest(contentId: ContentId, options: AbortOptions): Promise<Manifest>
  /** A swarm session that fetches the content into the cache. */
  session(init: { contentId: ContentId, manifest: Manifest, remoteName: string, originHttp: boolean }): SwarmSession
  /**
   * The catalogue's entry of a content (undefined when it lists none): asked
   * by a download found in the cache at start, which knows neither its name
   * at the origin nor whether the relay has its bytes.
   */
  entry?(contentId: ContentId, options: AbortOptions): Promise<{ filename: string, origin?: boolean } | undefined>
}

/** How long a resumed download waits for the catalogue before it runs with what the cache says. */
export const ENTRY_TIMEOUT_MS = 10_000

export interface JobInit {
  /** The name the download is known by (`/status` key, `/stream/:filename`). */
  filename: string
  /** Its name at the origin (`/videos/:name`, the HTTP fallback). */
  remoteName: string
  /**
   * The relay holds its bytes (its library): `/videos/:name` is a fallback.
   * False for a video only peers hold (published from a browser, or in
   * another relay's library). Unknown for a download found in the cache at
   * start: its run asks the catalogue (JobSource.entry) first, and counts
   * it true if the catalogue cannot be reached.
   */
  originHttp?: boolean
  contentId: ContentId
  state: DownloadState
  /** Known before the manifest: from the catalogue. */
  totalBytes?: number
  /** Known before the manifest: from the catalogue (`/list` says how many chunks). */
  totalChunks?: number
  /** The catalogue's title. */
  title?: string
  manifest?: Manifest
  now?: () => number
}

/**
 * One download: its state and numbers (what `/status` shows) and the run
 * that fetches it through a SwarmSession. The manager decides when it runs
 * and moves its state; the job only counts.
 */
export class DownloadJob {
  readonly filename: string
  /** Its name at the origin; a resumed download learns it from the catalogue. */
  remoteName: string
  originHttp: boolean
  readonly contentId: ContentId
  state: DownloadState
  manifest?: Manifest
  totalBytes: number
  heldChunks = 0
  heldBytes = 0
  queuedAt?: Date
  startedAt?: Date
  completedAt?: Date
  error?: string
  /** Why it failed, in a word (`error_code`). */
  errorCode?: FailureCode
  /** Queued and waiting for a source (no peer or origin known yet): it holds no download slot meanwhile. */
  waitingForSource = false
  /** When the running download last stored a chunk (or started). */
  lastChunkAt?: number
  /** Set by fail(): the reason the run is being ended with. */
  failure?: Error
  /** It started from chunks a previous run left in the cache. */
  resumed = false
  session?: SwarmSession
  readonly speed: SpeedMeter
  private readonly sources = new Set<string>()
  private readonly now: () => number
  private controller?: AbortController
  private sessionWaiters: Array<{ resolve(s: SwarmSession): void, reject(err: Error): void }> = []

  /** The catalogue's chunk count, until the manifest says. */
  private readonly catalogueChunks: number
  /** The catalogue's title, when the download came from it. */
  title?: string
  /** Whether remoteName and originHttp come from the catalogue (not a guess from the cache). */
  private catalogued: boolean

  constructor (init: JobInit) {
    this.filename = init.filename
    this.remoteName = init.remoteName
    this.originHttp = init.originHttp ?? true
    this.catalogued = init.originHttp != null
    this.contentId = init.contentId
    this.state = init.state
    this.manifest = init.manifest
    this.totalBytes = init.manifest?.size ?? init.totalBytes ?? 0
    this.catalogueChunks = init.totalChunks ?? 0
    this.title = init.title
    this.now = init.now ?? Date.now
    this.speed = new SpeedMeter(5000, this.now)
  }

  /** The job's line of `GET /status`. */
  snapshot (): DownloadStatus {
    const done = this.state === 'completed' || this.state === 'seeding'
    const total = this.totalBytes
    const held = done ? total : this.heldBytes
    const fromPeers = this.session?.stats.snapshot()
    const speed = this.state === 'downloading'
      ? this.speed.kbps()
      : this.completedAt != null && this.startedAt != null && this.speed.bytes > 0 ? this.speed.averageKbps(this.completedAt.getTime()) : 0
    return {
      filename: this.filename,
      status: this.state,
      progress: total > 0 ? round2(Math.min(100, (held / total) * 100)) : 0,
      bytes_downloaded: held,
      total_bytes: total,
      peers_connected: this.sources.size,
      download_speed: speed,
      started_at: isoSeconds(this.startedAt),
      completed_at: isoSeconds(this.completedAt),
      title: this.title ?? null,
      content_id: this.contentId,
      chunks_downloaded: this.manifest == null ? 0 : done ? chunkCount(this.manifest) : this.heldChunks,
      // before the manifest arrives, the catalogue's count: a queued download is not "0 chunks"
      chunks_total: this.manifest == null ? this.catalogueChunks : chunkCount(this.manifest),
      bytes_from_peers: fromPeers == null ? 0 : fromPeers.bytesFromPeers - fromPeers.bytesFromOriginPeer,
      bytes_from_origin: fromPeers == null ? 0 : fromPeers.bytesFromOriginPeer + fromPeers.bytesFromHttp,
      error: this.state === 'failed' ? this.error ?? 'failed' : null,
      error_code: this.state === 'failed' ? this.errorCode ?? 'other' : null,
      waiting_for: this.state !== 'queued' ? null : this.waitingForSource ? 'source' : 'slot'
    }
  }

  /**
   * Fetch the content: resolves when every chunk is verified in the cache,
   * rejects when it cannot be fetched or is cancelled. `onChunk` is told of
   * every chunk stored (after the job's numbers are updated).
   */
  async run (source: JobSource, onChunk: (event: ChunkEvent) => void): Promise<void> {
    const controller = new AbortController()
    this.controller = controller
    const { signal } = controller
    this.error = undefined
    this.errorCode = undefined
    this.failure = undefined
    this.lastChunkAt = this.now()
    this.sources.clear()
    this.speed.start()
    const manifest = this.manifest ?? await source.manifest(this.contentId, { signal })
    signal.throwIfAborted()
    this.manifest = manifest
    this.totalBytes = manifest.size
    if (!this.catalogued && source.entry != null) await this.askCatalogue(source.entry, signal)
    const session = source.session({ contentId: this.contentId, manifest, remoteName: this.remoteName, originHttp: this.originHttp })
    this.session = session
    signal.addEventListener('abort', () => { session.stop() }, { once: true })
    session.addEventListener('chunk', (e) => {
      const detail = (e as CustomEvent<ChunkEvent>).detail
      this.count(session.have)
      this.lastChunkAt = this.now()
      this.speed.add(detail.bytes)
      this.sources.add(detail.source)
      onChunk(detail)
    })
    await session.start()
    this.count(session.have)
    this.resumed = this.heldChunks > 0 && !session.complete
    for (const w of this.sessionWaiters.splice(0)) w.resolve(session)
    await session.done
  }

  /**
   * A download found in the cache at start: its name at the origin, and
   * whether the relay has its bytes, from the catalogue — a video the relay
   * does not list (another relay's, a published one, one removed since) has
   * no HTTP fallback, where `/videos` would answer 404 to every try. A
   * catalogue that cannot be reached leaves the guess (the cached name, HTTP
   * on) and is asked again at the next run.
   */
  private async askCatalogue (entry: NonNullable<JobSource['entry']>, signal: AbortSignal): Promise<void> {
    try {
      const listed = await entry(this.contentId, { signal: AbortSignal.any([signal, AbortSignal.timeout(ENTRY_TIMEOUT_MS)]) })
      this.remoteName = listed?.filename ?? this.remoteName
      this.originHttp = listed != null && listed.origin !== false
      this.catalogued = true
    } catch {
      signal.throwIfAborted()
    }
  }

  /** Stop the run (its partial stays in the cache unless the manager deletes it). */
  cancel (reason: Error = new DownloadCancelledError()): void {
    this.controller?.abort(reason)
    this.session?.stop(reason)
    for (const w of this.sessionWaiters.splice(0)) w.reject(reason)
  }

  /** End the run with `reason`: the manager marks it failed with it (its partial stays for a retry). */
  fail (reason: Error): void {
    this.failure ??= reason
    this.cancel(reason)
  }

  /** Record why it failed (`error`, `error_code`). */
  failedWith (err: unknown): void {
    const reason = this.failure ?? err
    this.error = (reason as Error | undefined)?.message ?? String(reason)
    this.errorCode = failureCodeOf(reason)
  }

  /** The running session, once the manifest is known (a reader waits for it). */
  async runningSession (options?: AbortOptions): Promise<SwarmSession> {
    if (this.session != null && !this.session.stopped) return this.session
    if (this.state !== 'downloading') throw new DownloadNotStartedError(`"${this.filename}" is ${this.state}`)
    return await new Promise<SwarmSession>((resolve, reject) => {
      const onAbort = (): void => { reject(options?.signal?.reason) }
      options?.signal?.addEventListener('abort', onAbort, { once: true })
      this.sessionWaiters.push({
        resolve: s => { options?.signal?.removeEventListener('abort', onAbort); resolve(s) },
        reject: err => { options?.signal?.removeEventListener('abort', onAbort); reject(err) }
      })
    })
  }

  /** Fail the readers waiting for a session that will not come. */
  failWaiters (err: Error): void {
    for (const w of this.sessionWaiters.splice(0)) w.reject(err)
  }

  /** Count what `have` holds (before a run: what the cache already has). */
  count (have: Bitfield): void {
    const manifest = this.manifest
    if (manifest == null) return
    const n = have.count()
    const last = have.length - 1
    const short = manifest.chunkSize - chunkLength(manifest, last)
    this.heldChunks = n
    this.heldBytes = n * manifest.chunkSize - (have.has(last) ? short : 0)
  }
}
