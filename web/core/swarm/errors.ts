export class HttpSourceError extends Error {
  static override name = 'HttpSourceError'
  override name = 'HttpSourceError'
  constructor (message = 'The origin did not send the chunk') { super(message) }
}

export class SessionStoppedError extends Error {
  static override name = 'SessionStoppedError'
  override name = 'SessionStoppedError'
  constructor (message = 'The download was stopped') { super(message) }
}

export class NoSourceError extends Error {
  static override name = 'NoSourceError'
  override name = 'NoSourceError'
  constructor (message = 'No peer and no origin can provide this content') { super(message) }
}

/** A request given up because the reader moved elsewhere (a seek): not the source's fault. */
export class SupersededError extends Error {
  static override name = 'SupersededError'
  override name = 'SupersededError'
  constructor (message = 'The reader moved elsewhere') { super(message) }
}
