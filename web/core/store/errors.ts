export class UnknownContentError extends Error {
  static override name = 'UnknownContentError'
  override name = 'UnknownContentError'
  constructor (message = 'The store has no manifest for this content') { super(message) }
}

export class StoreClosedError extends Error {
  static override name = 'StoreClosedError'
  override name = 'StoreClosedError'
  constructor (message = 'The store is closed') { super(message) }
}

/**
 * The store has no room for the chunk: its disk (or the user's quota) is
 * full (ENOSPC, EDQUOT). Nothing it held is lost; a session that gets it
 * from `putChunk` stops with it, since every other chunk would fail alike.
 */
export class DiskFullError extends Error {
  static override name = 'DiskFullError'
  override name = 'DiskFullError'
  constructor (message = 'The disk holding the store is full', options?: ErrorOptions) { super(message, options) }
}
