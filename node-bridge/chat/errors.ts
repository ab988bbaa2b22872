/**
 * Failures of the bridge's chat layer, shown to IPC clients as they are.
 * Each has a `name` equal to its class name; callers match on `err.name`.
 */

/** The contract's exact wording: `Peer not found: <name>`. */
export class PeerNotFoundError extends Error {
  static override name = 'PeerNotFoundError'
  override name = 'PeerNotFoundError'
  constructor (peer: string) { super(`Peer not found: ${peer}`) }
}

/** Several connected peers announce this name and no contact says which one is meant. */
export class AmbiguousPeerError extends Error {
  static override name = 'AmbiguousPeerError'
  override name = 'AmbiguousPeerError'
  constructor (peer: string, ids: string[]) {
    super(`Peer name is ambiguous: ${peer} is announced by ${ids.length} peers (${ids.join(', ')}); add a contact or use the peer id`)
  }
}

/** `p2p stop` was sent: nothing goes out or comes in until `p2p start`. */
export class P2pStoppedError extends Error {
  static override name = 'P2pStoppedError'
  override name = 'P2pStoppedError'
  constructor (message = 'P2P network is not running (send p2p start)') { super(message) }
}

/** The file to send cannot be read (missing, a folder, unreadable). */
export class FileSourceError extends Error {
  static override name = 'FileSourceError'
  override name = 'FileSourceError'
  constructor (message = 'The file cannot be read') { super(message) }
}

/** The receive folder cannot take the file. */
export class ReceiveFolderError extends Error {
  static override name = 'ReceiveFolderError'
  override name = 'ReceiveFolderError'
  readonly code = 'cannot_store'
  constructor (message = 'The receiver cannot store the file') { super(message) }
}
