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
