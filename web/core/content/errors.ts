export class InvalidManifestError extends Error {
  static override name = 'InvalidManifestError'
  override name = 'InvalidManifestError'
  constructor (message = 'The manifest is malformed') { super(message) }
}

export class ContentIdMismatchError extends Error {
  static override name = 'ContentIdMismatchError'
  override name = 'ContentIdMismatchError'
  constructor (message = 'The manifest does not match its content id') { super(message) }
}

export class ChunkHashMismatchError extends Error {
  static override name = 'ChunkHashMismatchError'
  override name = 'ChunkHashMismatchError'
  constructor (message = 'The chunk does not match its hash in the manifest') { super(message) }
}

export class ChunkIndexOutOfRangeError extends Error {
  static override name = 'ChunkIndexOutOfRangeError'
  override name = 'ChunkIndexOutOfRangeError'
  constructor (message = 'The chunk index is outside the content') { super(message) }
}

export class InvalidFilenameError extends Error {
  static override name = 'InvalidFilenameError'
  override name = 'InvalidFilenameError'
  constructor (message = 'The filename is not allowed') { super(message) }
}

export class ContentTooLargeError extends Error {
  static override name = 'ContentTooLargeError'
  override name = 'ContentTooLargeError'
  constructor (message = 'The content is larger than allowed') { super(message) }
}
