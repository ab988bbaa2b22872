import type { ContentId, Manifest } from '@core/content/manifest'
import type { TabPeer } from '../../peer/tab-peer'
import { hashFile } from '../publish/hasher'

export type PublishPhase = 'hashing' | 'storing' | 'registering' | 'seeding' | 'failed' | 'cancelled'

export interface OriginUpload {
  sent: number
  total: number
  state: 'uploading' | 'done' | 'failed'
  error?: string
}

/**
 * One video published from this browser: hashed in a worker, its chunks
 * stored in this tab's cache, registered with the relay's catalogue (which
 * checks the manifest) and seeded. Optionally also uploaded to the origin.
 */
export class PublishJob {
  phase = $state<PublishPhase>('hashing')
  /** Bytes hashed, then bytes stored. */
  done = $state(0)
  bytesPerSecond = $state(0)
  error = $state<string | undefined>(undefined)
  contentId = $state<ContentId | undefined>(undefined)
  upload = $state<OriginUpload | undefined>(undefined)
  readonly total: number
  private readonly controller = new AbortController()
  private manifest?: Manifest
  private xhr?: XMLHttpRequest

  constructor (readonly file: File, private readonly origin: string) {
    this.total = file.size
  }

  get active (): boolean {
    return this.phase === 'hashing' || this.phase === 'storing' || this.phase === 'registering'
  }

  async run (peer: TabPeer): Promise<void> {
    const signal = this.controller.signal
    // read while the file hashes: a <video> on the file's own bytes knows its duration from the metadata
    const duration = readDuration(this.file)
    try {
      const hashed = await hashFile(this.file, {
        signal,
        onProgress: p => { this.done = p.bytesHashed; this.bytesPerSecond = p.bytesPerSecond }
      })
      this.manifest = hashed.manifest
      this.contentId = hashed.contentId
      this.phase = 'storing'
      this.done = 0
      await peer.publish(hashed.manifest, hashed.contentId, this.file, { signal, onProgress: p => { this.done = p.bytesStored } })
      this.phase = 'registering'
      await this.register(hashed.manifest, peer.node.peerId.toString(), await duration, signal)
      this.phase = 'seeding'
    } catch (err: any) {
      if (signal.aborted) {
        this.phase = 'cancelled'
        return
      }
      this.phase = 'failed'
      this.error = describe(err)
    }
  }

  cancel (): void {
    this.controller.abort()
    this.xhr?.abort()
  }

  /**
   * `POST /publish`: the relay checks the manifest, fetches a few chunks from
   * this tab's peer (`peerId`, connected to it) to see that it holds them,
   * then lists the video.
   */
  private async register (manifest: Manifest, peerId: string, duration: number | undefined, signal: AbortSignal): Promise<void> {
    const response = await fetch(`${this.origin}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ manifest, peerId, ...(duration == null ? {} : { duration }) }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)])
    })
    if (!response.ok) {
      const body = await response.json().catch(() => ({})) as { error?: string }
      throw new Error(`The server refused to list the video: ${body.error ?? response.status}`)
    }
  }

  /**
   * Also send the file to the origin (`POST /upload`), so it stays available
   * when no browser seeds it. XMLHttpRequest, because fetch reports no upload progress.
   */
  uploadToOrigin (): void {
    if (this.upload?.state === 'uploading') return
    const xhr = this.xhr = new XMLHttpRequest()
    this.upload = { sent: 0, total: this.file.size, state: 'uploading' }
    xhr.open('POST', `${this.origin}/upload`)
    xhr.setRequestHeader('Content-Type', this.file.type !== '' ? this.file.type : this.manifest?.mime ?? 'video/mp4')
    xhr.setRequestHeader('X-Filename', encodeURIComponent(this.file.name))
    xhr.upload.onprogress = e => { this.upload = { sent: e.loaded, total: e.total || this.file.size, state: 'uploading' } }
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        this.upload = { sent: this.file.size, total: this.file.size, state: 'done' }
        return
      }
      let reason = `it answered ${xhr.status}`
      try { reason = (JSON.parse(xhr.responseText) as { error?: string }).error ?? reason } catch {}
      this.upload = { sent: 0, total: this.file.size, state: 'failed', error: `The server did not take the upload: ${reason}` }
    }
    xhr.onerror = () => { this.upload = { sent: 0, total: this.file.size, state: 'failed', error: 'The upload was cut off: is the server still running?' } }
    xhr.onabort = () => { this.upload = { sent: 0, total: this.file.size, state: 'failed', error: 'Upload cancelled' } }
    xhr.send(this.file)
  }
}

function describe (err: any): string {
  switch (err?.name) {
    case 'QuotaExceededError':
    case 'StoreFullError':
      return `${String(err.message)} (Downloads shows what takes the room.)`
    case 'ChunkHashMismatchError':
      return 'The file changed while it was being published: publish it again.'
    case 'TimeoutError':
      return 'The server took too long to answer: try again.'
    case 'TypeError':
      return 'The server cannot be reached: the video stays in this browser; publish it again when the server is back.'
    default:
      return String(err?.message ?? err)
  }
}

/** The videos this tab has published since it opened. */
export class Publisher {
  jobs = $state.raw<PublishJob[]>([])

  constructor (private readonly origin: string) {}

  start (file: File, peer: TabPeer): PublishJob {
    const job = new PublishJob(file, this.origin)
    this.jobs = [job, ...this.jobs]
    void job.run(peer)
    return job
  }
}

/**
 * The file's duration in seconds, as this browser's <video> reads it from
 * the metadata (an object URL: nothing leaves the machine); undefined when
 * it cannot tell within 5 s (a format it does not play, a live stream).
 */
async function readDuration (file: File): Promise<number | undefined> {
  if (typeof document === 'undefined') return undefined
  const url = URL.createObjectURL(file)
  const video = document.createElement('video')
  video.preload = 'metadata'
  video.muted = true
  try {
    return await new Promise<number | undefined>(resolve => {
      const timer = setTimeout(() => { resolve(undefined) }, 5000)
      video.onloadedmetadata = () => { clearTimeout(timer); resolve(Number.isFinite(video.duration) && video.duration > 0 ? Math.round(video.duration * 1000) / 1000 : undefined) }
      video.onerror = () => { clearTimeout(timer); resolve(undefined) }
      video.src = url
    })
  } finally {
    video.removeAttribute('src')
    video.load()
    URL.revokeObjectURL(url)
  }
}
