/** Failures of the browser's IndexedDB chunk store. Callers match on `err.name`. */

export { StoreClosedError, UnknownContentError } from '@core/store/errors'

/** `1.5 MB`: sizes in the messages people read (MB = 2^20 bytes, as the cache settings show them). */
export function formatMB (bytes: number): string {
  const mb = bytes / (1024 * 1024)
  if (!Number.isFinite(mb)) return 'unlimited'
  if (mb >= 10) return `${Math.round(mb)} MB`
  if (mb >= 1) return `${Number(mb.toFixed(1))} MB`
  return `${Number(mb.toFixed(2))} MB`
}

/**
 * Storing a chunk would take the cache over its size cap, and every content
 * that could make room is being watched or kept for offline.
 */
export class StoreFullError extends Error {
  static override name = 'StoreFullError'
  override name = 'StoreFullError'
  /** Bytes stored when the chunk was refused, and the cap. */
  readonly usedBytes: number
  readonly capBytes: number

  constructor (usedBytes = 0, capBytes = 0, message?: string) {
    super(message ?? `The video cache is full (${formatMB(usedBytes)} of ${formatMB(capBytes)}): remove a video or raise the cache size`)
    this.usedBytes = usedBytes
    this.capBytes = capBytes
  }
}

/**
 * The browser refused to store more (IndexedDB's QuotaExceededError): the
 * site's share of the disk is used up. The write did not happen; the store
 * stays usable.
 */
export class QuotaExceededError extends Error {
  static override name = 'QuotaExceededError'
  override name = 'QuotaExceededError'
  constructor (message = 'The browser has no more room for this site\'s video cache: remove a video, lower the cache size or free some disk space', options?: ErrorOptions) {
    super(message, options)
  }
}
