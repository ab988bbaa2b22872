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

/** The contact list holds MAX_CONTACTS already: remove one first. */
export class ContactsFullError extends Error {
  static override name = 'ContactsFullError'
  override name = 'ContactsFullError'
  constructor (max: number) { super(`Too many contacts (at most ${max}): remove one first`) }
}
