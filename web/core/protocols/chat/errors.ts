/** A frame that does not parse, or breaks the protocol's order. */
export class ChatProtocolError extends Error {
  static override name = 'ChatProtocolError'
  override name = 'ChatProtocolError'
  /** Sent to the peer in the ERROR frame: `malformed`, `encryption_required`, `no_session`, … */
  constructor (message = 'The peer broke the chat protocol', readonly code = 'malformed') { super(message) }
}

/** The peer answered ERROR: it refused or could not take what we sent. */
export class ChatRejectedError extends Error {
  static override name = 'ChatRejectedError'
  override name = 'ChatRejectedError'
  constructor (message = 'The peer refused', readonly code = 'refused') { super(message) }
}

/** A sealed frame failed authentication (wrong key, or bytes changed on the way). */
export class FrameAuthError extends Error {
  static override name = 'FrameAuthError'
  override name = 'FrameAuthError'
  readonly code = 'auth_failed'
  constructor (message = 'A sealed frame failed authentication (wrong key, or changed on the way)') { super(message) }
}

/** No answer in time. */
export class ChatTimeoutError extends Error {
  static override name = 'ChatTimeoutError'
  override name = 'ChatTimeoutError'
  constructor (message = 'The peer did not answer in time') { super(message) }
}

/** The stream closed before the exchange finished. */
export class ChatClosedError extends Error {
  static override name = 'ChatClosedError'
  override name = 'ChatClosedError'
  constructor (message = 'The chat stream closed early') { super(message) }
}

/** Only a relayed (limited) connection to the peer exists: files need a direct one. */
export class ChatLimitedConnectionError extends Error {
  static override name = 'ChatLimitedConnectionError'
  override name = 'ChatLimitedConnectionError'
  constructor (message = 'Only a relayed connection to the peer exists: files need a direct connection') { super(message) }
}
