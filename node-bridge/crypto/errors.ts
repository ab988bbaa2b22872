/**
 * Failures of the post-quantum crypto. Each has a `name` equal to its class
 * name; callers match on `err.name`. Messages are safe to show a client:
 * they never contain key material.
 */

/** A key that is not base64, or not the length of any supported KEM's key. */
export class InvalidKeyError extends Error {
  static override name = 'InvalidKeyError'
  override name = 'InvalidKeyError'
  constructor (message = 'Invalid key') { super(message) }
}

/** `encrypted_data` that is not base64, too short, or of an unknown version. */
export class MalformedCiphertextError extends Error {
  static override name = 'MalformedCiphertextError'
  override name = 'MalformedCiphertextError'
  constructor (message = 'Malformed encrypted_data') { super(message) }
}

/** Authentication failed: the wrong private key, or the data was changed. */
export class DecryptionError extends Error {
  static override name = 'DecryptionError'
  override name = 'DecryptionError'
  constructor (message = 'Decryption failed: wrong private key, or the data was altered') { super(message) }
}

/** A peer offered a KEM key that differs from the one pinned for it (a contact's). */
export class KeyMismatchError extends Error {
  static override name = 'KeyMismatchError'
  override name = 'KeyMismatchError'
  readonly code = 'key_mismatch'
  constructor (message = 'The peer\'s public key is not the one pinned for it') { super(message) }
}
