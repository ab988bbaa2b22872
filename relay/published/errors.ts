/** Failures of the catalogue of browser-published videos. Callers match on `err.name`. */

export class PublishedCatalogueFullError extends Error {
  static override name = 'PublishedCatalogueFullError'
  override name = 'PublishedCatalogueFullError'
  constructor (message = 'The relay lists as many published videos as it may') { super(message) }
}

/** The peer a publication names is not connected to the relay (directly): the relay cannot ask it for chunks. */
export class HolderNotConnectedError extends Error {
  static override name = 'HolderNotConnectedError'
  override name = 'HolderNotConnectedError'
  constructor (message = 'The publishing peer is not connected to the relay') { super(message) }
}

/** The publishing peer did not give the sampled chunks, or gave bytes that do not match the manifest. */
export class HolderCheckFailedError extends Error {
  static override name = 'HolderCheckFailedError'
  override name = 'HolderCheckFailedError'
  constructor (message = 'The publishing peer could not show that it holds the video') { super(message) }
}

/** A peer id that does not parse. */
export class InvalidPeerIdError extends Error {
  static override name = 'InvalidPeerIdError'
  override name = 'InvalidPeerIdError'
  constructor (message = 'The peer id is not valid') { super(message) }
}

/** Another video is already listed under this name (or one that differs only in case or Unicode form). */
export class NameTakenError extends Error {
  static override name = 'NameTakenError'
  override name = 'NameTakenError'
  constructor (message = 'Another video is already listed under this name') { super(message) }
}
