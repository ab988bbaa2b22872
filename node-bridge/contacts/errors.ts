/** The contacts file exists but cannot be read or parsed: the daemon refuses to start rather than lose it. */
export class ContactsUnreadableError extends Error {
  static override name = 'ContactsUnreadableError'
  override name = 'ContactsUnreadableError'
  constructor (message = 'The contacts file cannot be read') { super(message) }
}

export class ContactNotFoundError extends Error {
  static override name = 'ContactNotFoundError'
  override name = 'ContactNotFoundError'
  constructor (name: string) { super(`Contact not found: ${name}`) }
}
