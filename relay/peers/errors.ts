/** A `--peer-relay` that is no multiaddr ending in /p2p/<peer id>. */
export class InvalidPeerRelayError extends Error {
  static override name = 'InvalidPeerRelayError'
  override name = 'InvalidPeerRelayError'
  constructor (message = 'Invalid peer relay address') { super(message) }
}

/**
 * The relay that lists a video could not give its manifest: unreachable,
 * refused, or it sent one that is malformed or does not match the video's
 * content id. Nothing of it is kept; `GET /manifest` answers 502.
 */
export class RemoteManifestError extends Error {
  static override name = 'RemoteManifestError'
  override name = 'RemoteManifestError'
  constructor (message = 'The relay that lists this video did not give a valid manifest') { super(message) }
}
