export class NotAFileError extends Error {
  static override name = 'NotAFileError'
  override name = 'NotAFileError'
  constructor (message = 'The path is not a regular file in the store folder') { super(message) }
}

export class InvalidStateFileError extends Error {
  static override name = 'InvalidStateFileError'
  override name = 'InvalidStateFileError'
  constructor (message = 'The partial-download state file is malformed') { super(message) }
}

export class NoFreeFilenameError extends Error {
  static override name = 'NoFreeFilenameError'
  override name = 'NoFreeFilenameError'
  constructor (message = 'No free filename could be found for the content') { super(message) }
}

export class FileChangedWhileHashingError extends Error {
  static override name = 'FileChangedWhileHashingError'
  override name = 'FileChangedWhileHashingError'
  constructor (message = 'The file changed while it was being hashed') { super(message) }
}

/** An open file was closed (its content deleted, renamed or replaced, or the store closed) before the operation could use it. */
export class FileRetiredError extends Error {
  static override name = 'FileRetiredError'
  override name = 'FileRetiredError'
  constructor (message = 'The file was closed before the operation could use it') { super(message) }
}
