import { on } from './events'
import type { DownloadStatus } from './status'
import { Throttle } from './throttle'

/** Chunk lines per second and per download, at most (the last one is always printed). */
export const CHUNK_LINES_PER_SECOND = 4

/** `   Chunk 1/45 (2.2%) - 1024.50 Ko/s`: chunks held / chunks in all, percentage, speed in KB/s (1 KB = 1024 B). */
export function chunkLine (s: DownloadStatus): string {
  return `   Chunk ${s.chunks_downloaded}/${s.chunks_total} (${s.progress.toFixed(1)}%) - ${s.download_speed.toFixed(2)} Ko/s`
}

/**
 * The seed's console lines for the downloads of a manager, in French like
 * the seed: a line when a download starts, chunk lines while it runs (at
 * most CHUNK_LINES_PER_SECOND per download; one held back is printed when
 * its interval ends), then completed and seeding.
 * Returns the function that stops printing.
 */
export function printDownloads (manager: EventTarget, print: (line: string) => void, now: () => number = Date.now): () => void {
  const throttle = new Throttle(1000 / CHUNK_LINES_PER_SECOND, now)
  const offState = on(manager, 'state', ({ to, status, resumed }) => {
    const name = status.filename
    switch (to) {
      case 'queued': print(`⏳ En file d'attente: ${name}`); break
      case 'downloading':
        throttle.forget(name)
        print(resumed
          ? `📥 Reprise du téléchargement P2P: ${name} (${status.chunks_downloaded}/${status.chunks_total} chunks déjà dans le cache)`
          : `📥 Début du téléchargement P2P: ${name}`)
        break
      case 'completed': throttle.forget(name); print(`✅ Téléchargement terminé: ${name}`); break
      case 'seeding': print(`🌱 Début du seeding: ${name}`); break
      case 'failed': throttle.forget(name); print(`❌ Échec du téléchargement: ${name}: ${status.error ?? ''}`); break
      case 'cancelled': throttle.forget(name); print(`🛑 Téléchargement annulé: ${name}`); break
    }
  })
  const offProgress = on(manager, 'progress', ({ status }) => {
    throttle.run(status.filename, () => { print(chunkLine(status)) }, status.chunks_downloaded === status.chunks_total)
  })
  return () => { offState(); offProgress(); throttle.close() }
}
