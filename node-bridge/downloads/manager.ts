import { stat } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import type { ContentId, Manifest } from '@core/content/manifest'
import type { SwarmSession } from '@core/swarm/session'
import { anySignal, delay, type AbortOptions } from '@core/util/abort'
import type { FsChunkStore } from '../store/index'
import type { CatalogueEntry } from '../relay-http'
import { DownloadCompleteError, DownloadNotStartedError, ManagerStoppedError, NoSourceError, UnknownDownloadError } from './errors'
import type { DownloadEventMap } from './events'
import { DownloadJob, type JobSource } from './job'
import { canMove, isActive, isDone, isRestartable, type DownloadState } from './states'
import type { DownloadStatus } from './status'

/** The cache as the manager uses it (FsChunkStore's public API). */
export type CacheStore = Pick<FsChunkStore,
'listContents' | 'getManifest' | 'have' | 'deleteContent' | 'isComplete' | 'filenameOf' | 'contentIdOf' | 'pathOf'>

export interface DownloadManagerInit {
  store: CacheStore
  source: JobSource
  /** The catalogue entry of a filename (UnknownVideoError when there is none). */
  lookup(filename: string, options?: AbortOptions): Promise<CatalogueEntry>
  /** Told what the cache holds, for the tracker. */
  announcer: { set(contentId: ContentId, complete: boolean): void, remove(contentId: ContentId): void }
  maxConcurrent: number
  /**
   * Who holds the content besides this peer, as the relay's tracker lists
   * them (its library is listed there as the origin): `complete` (a seeder
   * or the origin), `partial` (only peers holding part of it), `none`, or
   * `unknown` when the tracker cannot be asked.
   */
  findSource(contentId: ContentId, options: AbortOptions): Promise<SourceAnswer>
  /** How long a download waits for a source (outside the slots), or runs without a chunk and without one, before it fails (SOURCE_WAIT_MS). */
  sourceWaitMs?: number
  log: Logger
  now?: () => number
}

export type SourceAnswer = 'complete' | 'partial' | 'none' | 'unknown'

/** Someone may give the download chunks: a seeder, the origin, or a peer holding part of it. */
function found (answer: SourceAnswer): boolean {
  return answer === 'complete' || answer === 'partial'
}

/** A download no peer or origin has fails after this long without one (`--source-wait`). */
export const SOURCE_WAIT_MS = 30_000
/** How often the tracker is asked while a download waits for a source, and the longest one answer may take. */
export const SOURCE_PROBE_MS = 2000

/** What `POST /download` did. */
export type RequestOutcome =
  | { outcome: 'started' | 'queued', job: DownloadJob }
  /** Queued outside the slots: no peer or origin is known to have it yet (it fails if none turns up in time). */
  | { outcome: 'waiting', job: DownloadJob }
  /** Nothing new: the job that already has (or is fetching) this content. */
  | { outcome: 'exists', job: DownloadJob }

/** What `GET /stream` reads: a complete file, or a download under way with its session. */
export interface StreamTarget {
  contentId: ContentId
  manifest: Manifest
  session?: SwarmSession
}

/**
 * The download queue: at most `maxConcurrent` jobs download at once, the
 * others wait in order. At start-up every complete file of the cache is
 * listed as seeding and every partial one (a daemon killed mid-download)
 * is queued again: it resumes from the chunks its bitfield holds.
 *
 * Events (see events.ts): `state` on every change of state, `progress` on
 * every verified chunk stored.
 */
export class DownloadManager extends EventTarget {
  private readonly jobs = new Map<string, DownloadJob>()
  private readonly queue: DownloadJob[] = []
  private readonly running = new Map<DownloadJob, Promise<void>>()
  /** Downloads waiting for a source, outside the slots, and what stops their wait. */
  private readonly searching = new Map<DownloadJob, AbortController>()
  private readonly now: () => number
  private stopped = false

  constructor (private readonly init: DownloadManagerInit) {
    super()
    this.now = init.now ?? Date.now
  }

  /** List the cache: complete files seed, partial ones resume. */
  async start (): Promise<{ seeding: number, resuming: number }> {
    const { store } = this.init
    let seeding = 0
    let resuming = 0
    for (const contentId of await store.listContents()) {
      const manifest = await store.getManifest(contentId)
      const filename = store.filenameOf(contentId)
      if (manifest == null || filename == null || this.jobs.has(filename)) continue
      const complete = store.isComplete(contentId)
      const job = new DownloadJob({ filename, remoteName: manifest.name, contentId, manifest, state: complete ? 'seeding' : 'queued', now: this.now })
      this.jobs.set(filename, job)
      if (complete) {
        const time = await this.fileTime(contentId)
        job.startedAt = time
        job.completedAt = time
        this.init.announcer.set(contentId, true)
        seeding++
      } else {
        resuming++
        await this.prepare(job)
        this.enqueue(job, null)
      }
    }
    this.pump()
    return { seeding, resuming }
  }

  /** Every download this daemon knows, keyed by filename (`GET /status`). */
  status (): Record<string, DownloadStatus> {
    return Object.fromEntries([...this.jobs.values()].map(j => [j.filename, j.snapshot()]))
  }

  get (filename: string): DownloadJob | undefined {
    return this.jobs.get(filename)
  }

  count (state: DownloadState): number {
    let n = 0
    for (const j of this.jobs.values()) if (j.state === state) n++
    return n
  }

  /** Download a catalogue entry into the cache (`POST /download`). */
  async request (filename: string, options?: AbortOptions): Promise<RequestOutcome> {
    if (this.stopped) throw new ManagerStoppedError()
    const known = this.jobs.get(filename)
    if (known != null && !isRestartable(known.state)) return { outcome: 'exists', job: known }
    const entry = await this.init.lookup(filename, options)
    if (this.stopped) throw new ManagerStoppedError()
    // asked twice at once, or the same bytes under another name
    const again = this.jobs.get(filename)
    if (again != null && !isRestartable(again.state)) return { outcome: 'exists', job: again }
    const same = [...this.jobs.values()].find(j => j.contentId === entry.contentId && !isRestartable(j.state))
    if (same != null) return { outcome: 'exists', job: same }
    const complete = this.init.store.isComplete(entry.contentId)
    const job = new DownloadJob({
      filename, remoteName: entry.filename, originHttp: entry.origin !== false, contentId: entry.contentId, totalBytes: entry.size, totalChunks: entry.chunks, title: entry.title, state: complete ? 'seeding' : 'queued', now: this.now
    })
    const previous = again?.state ?? null
    this.jobs.set(filename, job)
    if (complete) {
      job.manifest = await this.init.store.getManifest(entry.contentId)
      job.startedAt = job.completedAt = await this.fileTime(entry.contentId)
      this.init.announcer.set(entry.contentId, true)
      return { outcome: 'exists', job }
    }
    await this.prepare(job)
    if (this.stopped) throw new ManagerStoppedError()
    if (job.state !== 'queued') return { outcome: 'exists', job } // cancelled meanwhile
    // the relay's library is a source; anything else needs a peer the tracker lists, before it takes a slot
    job.waitingForSource = entry.origin !== true // while the tracker is asked, /status says so
    if (entry.origin !== true && !found(await this.probe(job))) {
      if (this.stopped) throw new ManagerStoppedError()
      if (job.state !== 'queued') return { outcome: 'exists', job }
      this.awaitSource(job, previous)
      return { outcome: 'waiting', job }
    }
    job.waitingForSource = false
    if (this.stopped) throw new ManagerStoppedError()
    if (job.state !== 'queued') return { outcome: 'exists', job }
    this.enqueue(job, previous)
    return { outcome: this.running.has(job) ? 'started' : 'queued', job }
  }

  /** Cancel a queued or running download and delete its partial file (`DELETE /download/:filename`). */
  async cancel (filename: string): Promise<DownloadJob> {
    const job = this.jobs.get(filename)
    if (job == null) throw new UnknownDownloadError(`No download named "${filename}"`)
    if (isDone(job.state)) throw new DownloadCompleteError(`"${filename}" is complete and seeding: there is nothing to cancel`)
    if (job.state === 'cancelled') return job
    const index = this.queue.indexOf(job)
    if (index >= 0) this.queue.splice(index, 1)
    this.searching.get(job)?.abort()
    this.searching.delete(job)
    this.move(job, 'cancelled')
    job.cancel()
    await this.running.get(job)
    const { store } = this.init
    const shared = [...this.jobs.values()].some(j => j !== job && j.contentId === job.contentId && !isRestartable(j.state))
    if (!shared && !store.isComplete(job.contentId)) {
      await store.deleteContent(job.contentId)
      this.init.announcer.remove(job.contentId)
    }
    return job
  }

  /**
   * The cache found a complete file damaged and made it a partial again
   * (FsChunkStore's `repair`): its job goes from seeding back to the queue,
   * ahead of the others (a reader may be waiting), and the tracker hears it
   * is no longer complete. Before start() nothing is listed yet: start()
   * queues the partial like any other.
   */
  async refetch (contentId: ContentId): Promise<void> {
    const job = [...this.jobs.values()].find(j => j.contentId === contentId && isDone(j.state))
    if (job == null || this.stopped) return
    const from = job.state
    job.completedAt = undefined
    this.init.announcer.set(contentId, false)
    await this.prepare(job)
    if (this.stopped || job.state !== from) return
    job.state = 'queued'
    job.queuedAt = new Date(this.now())
    this.queue.unshift(job)
    this.pump()
    if (job.state === 'queued') this.emit('state', { from, to: 'queued', status: job.snapshot(), resumed: false })
  }

  /** What `GET /stream/:filename` reads; waits for the session of a download whose manifest is on its way. */
  async streamTarget (filename: string, options?: AbortOptions): Promise<StreamTarget> {
    const { store } = this.init
    const job = this.jobs.get(filename)
    const contentId = job?.contentId ?? store.contentIdOf(filename)
    if (contentId == null) throw new UnknownDownloadError(`"${filename}" is not in the cache and not being downloaded`)
    if (store.isComplete(contentId)) {
      const manifest = await store.getManifest(contentId)
      if (manifest != null) return { contentId, manifest }
    }
    if (job == null) throw new UnknownDownloadError(`"${filename}" is not in the cache and not being downloaded`)
    if (job.state !== 'downloading') throw new DownloadNotStartedError(`"${filename}" is ${job.state}: it can be streamed once its download runs`)
    const session = await job.runningSession(options)
    return { contentId, manifest: session.manifest, session }
  }

  /** Stop every download (their partials stay in the cache and resume at the next start). */
  async stop (): Promise<void> {
    this.stopped = true
    this.queue.length = 0
    for (const controller of this.searching.values()) controller.abort()
    this.searching.clear()
    for (const job of this.running.keys()) job.cancel(new ManagerStoppedError())
    await Promise.allSettled(this.running.values())
  }

  /** Queue a job and start what fits; a job that starts at once is never announced as queued. */
  private enqueue (job: DownloadJob, from: DownloadState | null): void {
    job.state = 'queued'
    job.queuedAt = new Date(this.now())
    this.queue.push(job)
    this.pump()
    if (job.state === 'queued') this.emit('state', { from, to: 'queued', status: job.snapshot(), resumed: false })
  }

  private pump (): void {
    while (!this.stopped && this.running.size < this.init.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift() as DownloadJob
      const run = this.runJob(job).finally(() => {
        this.running.delete(job)
        this.pump()
      })
      this.running.set(job, run)
    }
  }

  /** What the cache already holds of a job's content (a partial left by an earlier run). */
  private async prepare (job: DownloadJob): Promise<void> {
    const { store } = this.init
    job.manifest ??= await store.getManifest(job.contentId).catch(() => undefined)
    const have = job.manifest == null ? undefined : await store.have(job.contentId).catch(() => undefined)
    if (have != null) job.count(have)
  }

  private async runJob (job: DownloadJob): Promise<void> {
    const { log } = this.init
    job.startedAt = new Date(this.now())
    job.resumed = job.heldChunks > 0
    this.move(job, 'downloading')
    const watch = this.watchSource(job)
    try {
      // a chunk whose write was under way when the download failed or was cancelled lands quietly
      await job.run(this.init.source, chunk => { if (job.state === 'downloading') this.emit('progress', { chunk, status: job.snapshot() }) })
      job.completedAt = new Date(this.now())
      this.move(job, 'completed')
      this.move(job, 'seeding')
    } catch (err: any) {
      job.failWaiters(err)
      if ((job.state as DownloadState) !== 'downloading' || this.stopped) return // cancelled, or the daemon is stopping
      job.failedWith(err)
      log.error('download of %s failed: %s', job.filename, job.error)
      this.move(job, 'failed')
    } finally {
      clearInterval(watch)
    }
  }

  /** Ask the tracker whether someone has the job's content (at most SOURCE_PROBE_MS). */
  private async probe (job: DownloadJob, signal?: AbortSignal): Promise<SourceAnswer> {
    try {
      return await this.init.findSource(job.contentId, { signal: anySignal(signal, AbortSignal.timeout(SOURCE_PROBE_MS)) })
    } catch {
      return 'unknown'
    }
  }

  /**
   * Wait for a source outside the slots (queued, `waiting_for: source`):
   * the tracker is asked every SOURCE_PROBE_MS; a source found queues the
   * job for a slot, none within `sourceWaitMs` fails it (NoSourceError).
   */
  private awaitSource (job: DownloadJob, from: DownloadState | null): void {
    const controller = new AbortController()
    this.searching.set(job, controller)
    job.state = 'queued'
    job.waitingForSource = true
    job.queuedAt = new Date(this.now())
    this.emit('state', { from, to: 'queued', status: job.snapshot(), resumed: false })
    const deadline = this.now() + (this.init.sourceWaitMs ?? SOURCE_WAIT_MS)
    const { signal } = controller
    void (async () => {
      let last: SourceAnswer = 'none'
      while (this.now() < deadline) {
        await delay(Math.min(SOURCE_PROBE_MS, deadline - this.now()), { signal })
        last = await this.probe(job, signal)
        if (found(last)) break
      }
      signal.throwIfAborted()
      this.searching.delete(job)
      job.waitingForSource = false
      if (found(last)) {
        this.queue.push(job)
        this.pump()
        // it waits for a slot now
        if (job.state === 'queued') this.emit('state', { from: 'queued', to: 'queued', status: job.snapshot(), resumed: false })
        return
      }
      const seconds = Math.round((this.init.sourceWaitMs ?? SOURCE_WAIT_MS) / 1000)
      job.failedWith(new NoSourceError(last === 'unknown'
        ? `no peer or origin has this file: none found in ${seconds} s (the relay's tracker could not be asked)`
        : `no peer or origin has this file (none found in ${seconds} s)`))
      this.init.log.error('download of %s failed: %s', job.filename, job.error)
      this.move(job, 'failed')
    })().catch(() => {}) // aborted: cancelled, or the daemon is stopping
  }

  /**
   * While a job runs: once it has stored no chunk for `sourceWaitMs`, ask
   * the tracker every SOURCE_PROBE_MS whether a seeder or the origin has
   * the content; none (a firm answer, not an unreachable tracker) fails it
   * with NoSourceError, which frees its slot. Peers holding only parts do
   * not keep it alive: they gave nothing for that long (downloaders of a
   * content nobody has would otherwise keep each other waiting for good).
   * Returns the timer to clear.
   */
  private watchSource (job: DownloadJob): ReturnType<typeof setInterval> {
    const waitMs = this.init.sourceWaitMs ?? SOURCE_WAIT_MS
    let asking = false
    return setInterval(() => {
      if (asking || job.state !== 'downloading' || this.now() - (job.lastChunkAt ?? this.now()) < waitMs) return
      asking = true
      void this.probe(job).then(answer => {
        asking = false
        if (answer === 'complete' || answer === 'unknown' || job.state !== 'downloading' || this.now() - (job.lastChunkAt ?? this.now()) < waitMs) return
        job.fail(new NoSourceError(`no peer or origin has this file (no chunk and no source for ${Math.round(waitMs / 1000)} s)`))
      })
    }, Math.min(SOURCE_PROBE_MS, waitMs))
  }

  private move (job: DownloadJob, to: DownloadState): void {
    const from = job.state
    if (!canMove(from, to)) throw new Error(`A download cannot go from ${from} to ${to}`)
    job.state = to
    this.emit('state', { from, to, status: job.snapshot(), resumed: job.resumed })
  }

  private emit<K extends keyof DownloadEventMap> (type: K, detail: DownloadEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  /** When a complete file was written (its modification time), for `/status`. */
  private async fileTime (contentId: ContentId): Promise<Date> {
    const path = this.init.store.pathOf(contentId)
    try {
      if (path != null) return (await stat(path)).mtime
    } catch {}
    return new Date(this.now())
  }
}
