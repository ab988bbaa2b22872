import { SvelteMap } from 'svelte/reactivity'

const CACHE = 'pipbingo-posters-v1'
const WIDTH = 480
const HEIGHT = 270
const TIMEOUT_MS = 20_000

export interface PosterSource {
  contentId: string
  /** Where a `<video>` can read the first chunks (the service worker's stream, or the origin). */
  src: string
}

/**
 * Poster frames, taken in this browser from a video's first chunks: a muted
 * off-screen `<video>` loads them (through the service worker, so from peers
 * as much as the origin), seeks a little in, and the frame is drawn into a
 * canvas. Kept in the Cache API, so a poster is taken once per browser.
 * One capture at a time; `onDone` lets the tab stop fetching that video.
 */
export class Posters {
  readonly urls = new SvelteMap<string, string>()
  private readonly queue: PosterSource[] = []
  private readonly failed = new Set<string>()
  private running = false
  private paused = true

  constructor (private readonly onDone: (contentId: string) => void = () => {}) {}

  /** Capture only while the catalogue is on screen: never in competition with the player. */
  resume (): void {
    this.paused = false
    void this.drain()
  }

  pause (): void {
    this.paused = true
  }

  /** A poster for this content: from the cache, or captured when its turn comes. */
  request (source: PosterSource): void {
    const { contentId } = source
    if (this.urls.has(contentId) || this.failed.has(contentId) || this.queue.some(q => q.contentId === contentId)) return
    this.queue.push(source)
    void this.drain()
  }

  private async drain (): Promise<void> {
    if (this.running || this.paused) return
    this.running = true
    try {
      while (!this.paused && this.queue.length > 0) {
        const next = this.queue.shift()!
        try {
          const blob = await cached(next.contentId) ?? await this.capture(next)
          this.urls.set(next.contentId, URL.createObjectURL(blob))
        } catch {
          this.failed.add(next.contentId) // not a video the browser can decode, or nobody serves it now
        }
      }
    } finally {
      this.running = false
    }
  }

  private async capture ({ contentId, src }: PosterSource): Promise<Blob> {
    const video = document.createElement('video')
    video.muted = true
    video.preload = 'auto'
    video.playsInline = true
    try {
      const loaded = once(video, 'loadeddata')
      video.src = src
      await loaded
      const seeked = once(video, 'seeked')
      video.currentTime = Math.min(2, (Number.isFinite(video.duration) ? video.duration : 0) * 0.1)
      await seeked
      const canvas = document.createElement('canvas')
      canvas.width = WIDTH
      canvas.height = HEIGHT
      const ctx = canvas.getContext('2d')
      if (ctx == null) throw new Error('no 2D canvas')
      const scale = Math.max(WIDTH / video.videoWidth, HEIGHT / video.videoHeight)
      const w = video.videoWidth * scale
      const h = video.videoHeight * scale
      ctx.drawImage(video, (WIDTH - w) / 2, (HEIGHT - h) / 2, w, h)
      const blob = await new Promise<Blob | null>(resolve => { canvas.toBlob(resolve, 'image/jpeg', 0.8) })
      if (blob == null) throw new Error('the frame could not be encoded')
      await caches.open(CACHE).then(async c => { await c.put(posterKey(contentId), new Response(blob, { headers: { 'Content-Type': 'image/jpeg' } })) }).catch(() => {})
      return blob
    } finally {
      video.removeAttribute('src')
      video.load()
      this.onDone(contentId)
    }
  }
}

function posterKey (contentId: string): string {
  return `/poster/${contentId}.jpg`
}

async function cached (contentId: string): Promise<Blob | undefined> {
  if (typeof caches === 'undefined') return undefined
  const response = await (await caches.open(CACHE)).match(posterKey(contentId))
  return await response?.blob()
}

function once (video: HTMLVideoElement, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${event} in time`)) }, TIMEOUT_MS)
    video.addEventListener(event, () => { clearTimeout(timer); resolve() }, { once: true })
    video.addEventListener('error', () => { clearTimeout(timer); reject(new Error(video.error?.message ?? 'media error')) }, { once: true })
  })
}
