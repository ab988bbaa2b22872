/** Failures of the relay's video library. Callers match on `err.name`. */

export class UnknownVideoError extends Error {
  static override name = 'UnknownVideoError'
  override name = 'UnknownVideoError'
  constructor (message = 'The library has no such video') { super(message) }
}

export class LibraryFileChangedError extends Error {
  static override name = 'LibraryFileChangedError'
  override name = 'LibraryFileChangedError'
  constructor (message = 'The file on disk no longer matches its manifest') { super(message) }
}
