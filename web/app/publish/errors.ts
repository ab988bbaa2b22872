/**
 * Why a file could not be hashed for publishing. Callers match on `err.name`.
 * A bad filename or a file too large is the core's InvalidFilenameError or
 * ContentTooLargeError (from @core/content/errors) with a message for a person;
 * an abort is a DOMException named AbortError.
 */

export class NotAVideoError extends Error {
  static override name = 'NotAVideoError'
  override name = 'NotAVideoError'
  constructor (message = 'Only video files can be published') { super(message) }
}

export class EmptyFileError extends Error {
  static override name = 'EmptyFileError'
  override name = 'EmptyFileError'
  constructor (message = 'The file is empty') { super(message) }
}

export class HashWorkerError extends Error {
  static override name = 'HashWorkerError'
  override name = 'HashWorkerError'
  constructor (message = 'The file could not be hashed') { super(message) }
}

export class HashStalledError extends Error {
  static override name = 'HashStalledError'
  override name = 'HashStalledError'
  constructor (message = 'Hashing the file made no progress for too long') { super(message) }
}
