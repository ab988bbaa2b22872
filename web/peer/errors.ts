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
