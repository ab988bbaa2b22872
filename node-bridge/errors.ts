/**
 * Failures of the bridge's own parts (identity, the relay's HTTP side). Each
 * has a `name` equal to its class name; callers match on `err.name`.
 */
export class IdentityUnreadableError extends Error {
  static override name = 'IdentityUnreadableError'
  override name = 'IdentityUnreadableError'
  constructor (message = 'The identity key cannot be read') { super(message) }
}

/** The relay's HTTP side did not answer, or answered something we cannot use. */
export class RelayHttpError extends Error {
  static override name = 'RelayHttpError'
  override name = 'RelayHttpError'
  constructor (message = 'The relay did not answer') { super(message) }
}

/** No catalogue entry has this filename. */
export class UnknownVideoError extends Error {
  static override name = 'UnknownVideoError'
  override name = 'UnknownVideoError'
  constructor (message = 'No video of the catalogue has this name') { super(message) }
}

/** The relay sent a manifest that does not match the content id asked for. */
export class ManifestMismatchError extends Error {
  static override name = 'ManifestMismatchError'
  override name = 'ManifestMismatchError'
  constructor (message = 'The manifest does not match its content id') { super(message) }
}
