/**
 * A download's life: `queued → downloading → completed → seeding`, or
 * `failed` / `cancelled` on the way (either can be asked for again, which
 * queues it anew). `completed` is a moment: the file is whole and verified;
 * `seeding` follows at once and lasts while the daemon runs, unless the
 * cache finds the file damaged: then `queued` again, for what it lost.
 */
export const DOWNLOAD_STATES = ['queued', 'downloading', 'completed', 'seeding', 'failed', 'cancelled'] as const

export type DownloadState = typeof DOWNLOAD_STATES[number]

const NEXT: Record<DownloadState, readonly DownloadState[]> = {
  queued: ['downloading', 'cancelled', 'failed'],
  downloading: ['completed', 'failed', 'cancelled'],
  completed: ['seeding'],
  seeding: ['queued'], // the cache found the file damaged: it downloads what it lost (DownloadManager.refetch)
  failed: ['queued', 'cancelled'],
  cancelled: ['queued']
}

export function canMove (from: DownloadState, to: DownloadState): boolean {
  return NEXT[from].includes(to)
}

/** Holds (or will hold) a download slot or a place in the queue. */
export function isActive (state: DownloadState): boolean {
  return state === 'queued' || state === 'downloading'
}

/** The file is whole in the cache. */
export function isDone (state: DownloadState): boolean {
  return state === 'completed' || state === 'seeding'
}

/** May be asked for again (POST /download starts it over). */
export function isRestartable (state: DownloadState): boolean {
  return state === 'failed' || state === 'cancelled'
}
