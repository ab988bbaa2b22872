export class FrameDecodeError extends Error {
  static override name = 'FrameDecodeError'
  override name = 'FrameDecodeError'
  constructor (message = 'Malformed chunk protocol frame') { super(message) }
}

/** The peer answered that it does not hold the chunk (or the content). */
export class ChunkUnavailableError extends Error {
  static override name = 'ChunkUnavailableError'
  override name = 'ChunkUnavailableError'
  constructor (message = 'The peer does not hold this chunk') { super(message) }
}

/** The peer is at its upload limit: try later or elsewhere. */
export class PeerBusyError extends Error {
  static override name = 'PeerBusyError'
  override name = 'PeerBusyError'
  constructor (message = 'The peer is busy') { super(message) }
}

/** The origin sent this chunk to another member of the swarm moments ago: get it from the swarm. */
export class ChunkElsewhereError extends Error {
  static override name = 'ChunkElsewhereError'
  override name = 'ChunkElsewhereError'
  constructor (message = 'The origin sent this chunk to another peer moments ago: get it from the swarm') { super(message) }
}

export class RequestTimeoutError extends Error {
  static override name = 'RequestTimeoutError'
  override name = 'RequestTimeoutError'
  constructor (message = 'The peer did not answer in time') { super(message) }
}

/** The stream to the peer closed or broke; every request on it fails with this. */
export class ChannelClosedError extends Error {
  static override name = 'ChannelClosedError'
  override name = 'ChannelClosedError'
  constructor (message = 'The connection to the peer closed') { super(message) }
}

/** The peer broke the protocol (a malformed frame, an answer to nothing, a wrong length). */
export class ProtocolViolationError extends Error {
  static override name = 'ProtocolViolationError'
  override name = 'ProtocolViolationError'
  constructor (message = 'The peer broke the chunk protocol') { super(message) }
}

/** Only a relayed (limited) connection to the peer exists: no bulk data over it. */
export class LimitedConnectionError extends Error {
  static override name = 'LimitedConnectionError'
  override name = 'LimitedConnectionError'
  constructor (message = 'Only a relayed connection to the peer exists') { super(message) }
}

/** Every address given for the peer is being dialled for another peer id or backs off after failing (dial-backoff.ts), or none can be dialled from here. */
export class AddressesBackingOffError extends Error {
  static override name = 'AddressesBackingOffError'
  override name = 'AddressesBackingOffError'
  constructor (message = 'Every address of the peer is backing off after failed dials') { super(message) }
}

/** No direct connection to the peer exists, and the caller asked not to dial one. */
export class NoDirectConnectionError extends Error {
  static override name = 'NoDirectConnectionError'
  override name = 'NoDirectConnectionError'
  constructor (message = 'No direct connection to the peer') { super(message) }
}
