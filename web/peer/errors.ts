export class NoFreeProfileError extends Error {
  static override name = 'NoFreeProfileError'
  override name = 'NoFreeProfileError'
  constructor (message = 'Every profile is in use by another tab: close one and reload') { super(message) }
}

export class RelayUnreachableError extends Error {
  static override name = 'RelayUnreachableError'
  override name = 'RelayUnreachableError'
  constructor (message = 'The relay cannot be reached') { super(message) }
}

/** A chat peer offered a KEM key that is not the one pinned for it: flagged, and nothing is negotiated with it. */
export class ChatKeyChangedError extends Error {
  static override name = 'ChatKeyChangedError'
  override name = 'ChatKeyChangedError'
  constructor (message = 'This contact\'s key changed since it was pinned: refusing to negotiate') { super(message) }
}

/** "Trust the new key" for a contact that has shown none. */
export class ChatNoChangedKeyError extends Error {
  static override name = 'ChatNoChangedKeyError'
  override name = 'ChatNoChangedKeyError'
}

/** A chat peer offered something that is not a KEM public key we support. */
export class ChatKeyInvalidError extends Error {
  static override name = 'ChatKeyInvalidError'
  override name = 'ChatKeyInvalidError'
  constructor (message = 'The peer\'s public key is not one of a supported KEM') { super(message) }
}
