/**
 * Failures of the download manager. Each has a `name` equal to its class
 * name; the REST layer maps them to status codes by that name.
 */
export class UnknownDownloadError extends Error {
  static override name = 'UnknownDownloadError'
  override name = 'UnknownDownloadError'
  constructor (message = 'This daemon knows no download of that name') { super(message) }
}

/** Asked to cancel a download that is already complete (it is seeding). */
export class DownloadCompleteError extends Error {
  static override name = 'DownloadCompleteError'
  override name = 'DownloadCompleteError'
  constructor (message = 'The download is complete: there is nothing to cancel') { super(message) }
}

/** Asked for the bytes of a download that has not started (queued, failed or cancelled). */
export class DownloadNotStartedError extends Error {
  static override name = 'DownloadNotStartedError'
  override name = 'DownloadNotStartedError'
  constructor (message = 'The download has not started yet') { super(message) }
}

/** The manager is stopping: no new download is accepted. */
export class ManagerStoppedError extends Error {
  static override name = 'ManagerStoppedError'
  override name = 'ManagerStoppedError'
  constructor (message = 'The download manager is stopped') { super(message) }
}

/** A download was cancelled while it ran. */
export class DownloadCancelledError extends Error {
  static override name = 'DownloadCancelledError'
  override name = 'DownloadCancelledError'
  constructor (message = 'The download was cancelled') { super(message) }
}

/**
 * Why a download failed, in a word a program or a UI can match
 * (`error_code` in `/status`): the disk holding the cache is full
 * (`disk_full`: the partial is kept, a retry resumes), no peer or origin
 * has the file (`no_source`), anything else (`other`: `error` says what).
 */
export type FailureCode = 'disk_full' | 'no_source' | 'other'

export function failureCodeOf (err: unknown): FailureCode {
  const name = (err as { name?: unknown } | undefined)?.name
  if (name === 'DiskFullError') return 'disk_full'
  if (name === 'NoSourceError') return 'no_source'
  return 'other'
}

/** No peer (in the relay's tracker) and no origin (the relay's library) has the content, within the bound. */
export class NoSourceError extends Error {
  static override name = 'NoSourceError'
  override name = 'NoSourceError'
  constructor (message = 'no peer or origin has this file') { super(message) }
}
