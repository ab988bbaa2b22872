import { createSubscriber } from 'svelte/reactivity'
import {
  bridgeDownloadSchema, bridgeStatsSchema, downloadReplySchema, errorReplySchema, parseStatus, stateEventSchema, tokenReplySchema,
  type BridgeDownload, type BridgeStats
} from './schemas'

export type { BridgeDownload, BridgeStats } from './schemas'

const PROBE_TIMEOUT_MS = 1500
const PROBE_EVERY_MS = 5000
const REQUEST_TIMEOUT_MS = 10_000
const STATS_EVERY_MS = 1000
/** The header of the bridge's API token (node-bridge/rest/token.ts). */
const TOKEN_HEADER = 'X-Pipbingo-Token'

/**
 * A bridge daemon on this computer, if one answers at `baseUrl`: its
 * downloads live (`GET /status`, then the `/events` SSE), `POST /download`,
 * its `/stream` URLs and, while a component reads `stats`, its `/stats`
 * once a second. Absent, it asks `/health` quietly every 5 s while the tab
 * is visible, and at once when the tab becomes visible again; when the
 * event stream drops it asks again.
 */
export class LocalBridge {
  readonly baseUrl: string
  /** A bridge answered and its event stream is open (or being reopened). */
  available = $state(false)
  downloads = $state.raw<BridgeDownload[]>([])
  /** The last failure of `download()`, in words a person understands. */
  error = $state<string | undefined>()
  #stats = $state.raw<BridgeStats | undefined>()
  /** Filename asked for → the bridge's name for it, when it holds the same content under another name. */
  #aliases = $state.raw<Record<string, string>>({})
  #controller: AbortController | undefined
  #events: EventSource | undefined
  #probeTimer: ReturnType<typeof setTimeout> | undefined
  /** The `start()` whose probe is under way. */
  #probing: AbortController | undefined
  #polling = false
  #token: string | undefined
  readonly #subscribeStats: () => void

  constructor (baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.#subscribeStats = createSubscriber(() => {
      void this.#pollStats()
      const timer = setInterval(() => { void this.#pollStats() }, STATS_EVERY_MS)
      return () => { clearInterval(timer) }
    })
  }

  /** `GET /stats`, polled once a second while a component (an effect) reads this. */
  get stats (): BridgeStats | undefined {
    this.#subscribeStats()
    return this.#stats
  }

  start (): void {
    if (this.#controller != null) return
    this.#controller = new AbortController()
    document.addEventListener('visibilitychange', this.#onVisibility)
    void this.#probe()
  }

  stop (): void {
    this.#controller?.abort()
    this.#controller = undefined
    document.removeEventListener('visibilitychange', this.#onVisibility)
    clearTimeout(this.#probeTimer)
    this.#closeEvents()
    this.#absent()
  }

  /** `POST /download`: start (or queue) saving `filename` on this computer. Failures land in `error`. */
  async download (filename: string): Promise<void> {
    this.error = undefined
    let response: Response
    try {
      response = await this.#fetch('/download', REQUEST_TIMEOUT_MS, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: await this.#apiToken() },
        body: JSON.stringify({ filename })
      })
    } catch (err) {
      this.error = (err as Error).message.startsWith('no token')
        ? 'This page may not use the bridge on this computer: start the bridge with --allow-origin for this page\'s address.'
        : (err as Error).name === 'TimeoutError'
        ? 'The bridge on this computer took too long to answer.'
        : 'The bridge on this computer did not answer. Is it still running?'
      return
    }
    const body: unknown = await response.json().catch(() => undefined)
    if (!response.ok) {
      const refusal = errorReplySchema.safeParse(body)
      this.error = `The bridge refused the download: ${refusal.success ? refusal.data.error : `HTTP ${response.status}`}`
      return
    }
    const download = downloadReplySchema.safeParse(body).data?.download
    if (download == null) return
    if (download.filename !== filename) this.#aliases = { ...this.#aliases, [filename]: download.filename }
    this.#upsert(download)
  }

  /**
   * The bridge's per-install token, which its POST and DELETE require from
   * a page: `GET /token` answers only the app's own origins (CORS), so no
   * other page can make this browser start a download.
   */
  async #apiToken (): Promise<string> {
    if (this.#token != null) return this.#token
    const response = await this.#fetch('/token', REQUEST_TIMEOUT_MS)
    const token = tokenReplySchema.safeParse(await response.json().catch(() => undefined)).data?.token
    if (!response.ok || token == null) throw new Error(`no token (HTTP ${response.status})`)
    this.#token = token
    return token
  }

  /** Where a `<video>` can play `filename` from the bridge (a file still downloading streams too). */
  streamUrl (filename: string): string {
    return `${this.baseUrl}/stream/${encodeURIComponent(this.#aliases[filename] ?? filename)}`
  }

  /** The bridge's download of `filename`, if it knows one. */
  held (filename: string): BridgeDownload | undefined {
    const name = this.#aliases[filename] ?? filename
    return this.downloads.find(d => d.filename === name)
  }

  readonly #onVisibility = (): void => {
    if (document.visibilityState === 'visible' && this.#events == null) void this.#probe()
  }

  /** `/health` then `/status`; then listen to `/events`, or try again later. */
  async #probe (): Promise<void> {
    clearTimeout(this.#probeTimer)
    const controller = this.#controller
    if (controller == null || this.#probing === controller || this.#events != null) return
    this.#probing = controller
    try {
      if (!(await this.#fetch('/health', PROBE_TIMEOUT_MS)).ok) throw new Error('unhealthy')
      const status = await this.#fetch('/status', PROBE_TIMEOUT_MS)
      if (!status.ok) throw new Error('no status')
      const downloads = parseStatus(await status.json())
      if (this.#controller !== controller) return
      this.downloads = downloads
      this.available = true
      this.#listen()
    } catch {
      if (this.#controller !== controller) return
      this.#absent()
      if (document.visibilityState === 'visible') this.#probeTimer = setTimeout(() => { void this.#probe() }, PROBE_EVERY_MS)
    } finally {
      if (this.#probing === controller) this.#probing = undefined
    }
  }

  #listen (): void {
    const events = new EventSource(`${this.baseUrl}/events`)
    this.#events = events
    const on = (type: string, handle: (data: unknown) => void): void => {
      events.addEventListener(type, (e: MessageEvent<string>) => {
        try { handle(JSON.parse(e.data)) } catch {} // a line this version cannot read is skipped
      })
    }
    on('snapshot', data => { this.downloads = parseStatus(data) })
    on('progress', data => { this.#upsert(bridgeDownloadSchema.parse(data)) })
    on('state', data => { this.#upsert(stateEventSchema.parse(data).status) })
    // EventSource would retry on its own; ask /health instead, so a bridge that is gone disappears
    events.addEventListener('error', () => {
      if (this.#events !== events) return
      this.#closeEvents()
      void this.#probe()
    })
  }

  #upsert (download: BridgeDownload): void {
    const i = this.downloads.findIndex(d => d.filename === download.filename)
    this.downloads = i < 0 ? [...this.downloads, download] : this.downloads.with(i, download)
  }

  async #pollStats (): Promise<void> {
    if (!this.available || this.#polling) return
    this.#polling = true
    try {
      const response = await this.#fetch('/stats', PROBE_TIMEOUT_MS)
      if (response.ok && this.available) this.#stats = bridgeStatsSchema.parse(await response.json())
    } catch {
      // the event stream's end tells whether the bridge is gone; a missed second is not worth a word
    } finally {
      this.#polling = false
    }
  }

  #closeEvents (): void {
    this.#events?.close()
    this.#events = undefined
  }

  #absent (): void {
    this.available = false
    this.downloads = []
    this.#stats = undefined
  }

  async #fetch (path: string, timeoutMs: number, init: RequestInit = {}): Promise<Response> {
    const signals = [AbortSignal.timeout(timeoutMs)]
    if (this.#controller != null) signals.push(this.#controller.signal)
    return await fetch(`${this.baseUrl}${path}`, { cache: 'no-store', ...init, signal: AbortSignal.any(signals) })
  }
}
