/**
 * Failures of the service worker's `/stream/…` answers. Each carries the
 * HTTP status it becomes when it happens before the headers are sent (after
 * that, the body stream errors with it). Callers match on `err.name`.
 */

/** `/stream/<profile>/<contentId>` with a profile or content id that is not one. */
export class InvalidStreamPathError extends Error {
  static override name = 'InvalidStreamPathError'
  override name = 'InvalidStreamPathError'
  readonly status = 400
  constructor (message = 'Not a stream path: /stream/<profile>/<contentId> with a profile like p0 and a 64-hex content id') { super(message) }
}

/** Nothing under `/stream/` has this shape. */
export class StreamNotFoundError extends Error {
  static override name = 'StreamNotFoundError'
  override name = 'StreamNotFoundError'
  readonly status = 404
  constructor (message = 'No such stream') { super(message) }
}

/** Neither IndexedDB nor the tab has a manifest for the content. */
export class UnknownStreamContentError extends Error {
  static override name = 'UnknownStreamContentError'
  override name = 'UnknownStreamContentError'
  readonly status = 404
  constructor (message = 'This profile knows no content with this id') { super(message) }
}

export class StreamMethodNotAllowedError extends Error {
  static override name = 'StreamMethodNotAllowedError'
  override name = 'StreamMethodNotAllowedError'
  readonly status = 405
  constructor (message = 'Streams answer GET and HEAD only') { super(message) }
}

/** The range selects nothing of the content (a 416 with `Content-Range: bytes * /size`). */
export class StreamRangeNotSatisfiableError extends Error {
  static override name = 'StreamRangeNotSatisfiableError'
  override name = 'StreamRangeNotSatisfiableError'
  readonly status = 416
  readonly size: number
  constructor (size: number, message = `The range is outside the content (${size} bytes)`) {
    super(message)
    this.size = size
  }
}

/** No open tab holds the profile (every window answered 421, or there is none). */
export class NoTabError extends Error {
  static override name = 'NoTabError'
  override name = 'NoTabError'
  readonly status = 503
  constructor (message = 'No open tab holds this profile: open the app') { super(message) }
}

/** The tab did not answer in time. */
export class TabTimeoutError extends Error {
  static override name = 'TabTimeoutError'
  override name = 'TabTimeoutError'
  readonly status = 504
  constructor (message = 'The tab did not answer in time') { super(message) }
}

/** The tab that holds the profile answered `{ ok: false }` (its status is kept, 502 if it gave none that fits). */
export class TabRefusedError extends Error {
  static override name = 'TabRefusedError'
  override name = 'TabRefusedError'
  readonly status: number
  constructor (status = 502, message = 'The tab could not get it') {
    super(message)
    this.status = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 502
  }
}

/** The tab said the chunk is stored, yet IndexedDB does not have it (evicted at once, or a tab bug). */
export class ChunkStillMissingError extends Error {
  static override name = 'ChunkStillMissingError'
  override name = 'ChunkStillMissingError'
  readonly status = 502
  constructor (message = 'The tab said the chunk was stored, but it is not in IndexedDB') { super(message) }
}

/** IndexedDB returned a chunk of the wrong length: the body would not match its Content-Length. */
export class CorruptChunkError extends Error {
  static override name = 'CorruptChunkError'
  override name = 'CorruptChunkError'
  readonly status = 500
  constructor (message = 'A stored chunk has the wrong length') { super(message) }
}

/** The HTTP status of a failure: its own when it has one, else 500. */
export function statusOf (err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500
}
