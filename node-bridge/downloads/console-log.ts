import { on } from './events'
import type { DownloadStatus } from './status'
import { Throttle } from './throttle'
import { formatBytes, formatSpeed, messages, type Lang } from '../messages'

/** Chunk lines per second and per download, at most (the last one is always printed). */
export const CHUNK_LINES_PER_SECOND = 4

/**
 * `   Chunk 1/45 (2.2%) - 1.0 MB/s`: chunks held / chunks in all,
 * percentage, speed (the seed's line, with the units of messages.ts).
 */
export function chunkLine (s: DownloadStatus, lang: Lang = 'en'): string {
  return `   Chunk ${s.chunks_downloaded}/${s.chunks_total} (${s.progress.toFixed(1)}%) - ${formatSpeed(s.download_speed, lang)}`
}

/** Why a download failed, in the console's language: disk full and no source in words, anything else as `error` says. */
export function failedLine (s: DownloadStatus, lang: Lang = 'en'): string {
  const m = messages(lang)
  switch (s.error_code) {
    case 'disk_full': {
      const code = /\b(ENOSPC|EDQUOT)\b/.exec(s.error ?? '')?.[1] ?? 'ENOSPC'
      return m.downloadFailedDiskFull(s.filename, code, formatBytes(s.bytes_downloaded, lang), formatBytes(s.total_bytes, lang))
    }
    case 'no_source': return m.downloadFailedNoSource(s.filename)
    default: return m.downloadFailed(s.filename, s.error ?? '')
  }
}

/**
 * The seed's console lines for the downloads of a manager, in the bridge's
 * language: a line when a download starts, chunk lines while it runs (at
 * most CHUNK_LINES_PER_SECOND per download; one held back is printed when
 * its interval ends), then completed and seeding.
 * Returns the function that stops printing.
 */
export function printDownloads (manager: EventTarget, print: (line: string) => void, options: { lang?: Lang, now?: () => number } = {}): () => void {
  const lang = options.lang ?? 'en'
  const m = messages(lang)
  const throttle = new Throttle(1000 / CHUNK_LINES_PER_SECOND, options.now ?? Date.now)
  const offState = on(manager, 'state', ({ to, status, resumed }) => {
    const name = status.filename
    switch (to) {
      case 'queued': print(status.waiting_for === 'source' ? m.lookingForSource(name) : m.queued(name)); break
      case 'downloading':
        throttle.forget(name)
        print(resumed ? m.downloadResuming(name, status.chunks_downloaded, status.chunks_total) : m.downloadStarting(name))
        break
      case 'completed': throttle.forget(name); print(m.downloadDone(name)); break
      case 'seeding': print(m.seedingStarted(name)); break
      case 'failed': throttle.forget(name); print(failedLine(status, lang)); break
      case 'cancelled': throttle.forget(name); print(m.downloadCancelled(name)); break
    }
  })
  const offProgress = on(manager, 'progress', ({ status }) => {
    throttle.run(status.filename, () => { print(chunkLine(status, lang)) }, status.chunks_downloaded === status.chunks_total)
  })
  return () => { offState(); offProgress(); throttle.close() }
}
