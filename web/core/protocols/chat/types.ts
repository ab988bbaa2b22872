import type { AbortOptions } from '../../util/abort'

/**
 * What the chat protocol asks of its host: keys and ciphers (ChatKeys),
 * where received files go (FileReceiver), what to hash with. The bridge
 * gives Node implementations; a browser would give its own.
 */

/** An AEAD under one direction key. `open` throws FrameAuthError when the bytes were changed. */
export interface FrameCipher {
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>
  open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>
}

/** The two directions of a negotiated session with one peer. */
export interface SessionCiphers {
  /** us → peer */
  outbound: FrameCipher
  /** peer → us */
  inbound: FrameCipher
  /** A short hex digest of the session key, the same on both sides. */
  fingerprint: string
}

/** The KEM half of a key negotiation, in the order the frames carry it. */
export interface Handshake {
  peer: string
  initiator: boolean
  initiatorPeer: string
  responderPeer: string
  initiatorKey: Uint8Array
  responderKey: Uint8Array
  /** Encapsulated by the initiator to the responder's key, and by the responder to the initiator's. */
  cipherTextToResponder: Uint8Array
  cipherTextToInitiator: Uint8Array
  /** The secrets this side holds: the one it encapsulated and the one it decapsulated. */
  secretToResponder: Uint8Array
  secretToInitiator: Uint8Array
}

export interface ChatKeys {
  /** Our long-term KEM public key, announced in HELLO and sent in KEYS. */
  publicKey(): Uint8Array
  /** Refuse a peer's key (throw) when it is not the one we pinned for it. */
  checkRemoteKey(peer: string, publicKey: Uint8Array): void
  encapsulate(remotePublicKey: Uint8Array): { cipherText: Uint8Array, sharedSecret: Uint8Array }
  decapsulate(cipherText: Uint8Array): Uint8Array
  /** Derive the session from a finished handshake, keep it (persisted), and return its ciphers. */
  establish(handshake: Handshake): Promise<SessionCiphers>
  /** The ciphers of the session with `peer`, if keys were negotiated. */
  session(peer: string): SessionCiphers | undefined
}

/** What the sender offers; `name` is only a claim. */
export interface FileOffer {
  peer: string
  id: string
  name: string
  size: number
  chunkSize: number
}

/** A file being received: bytes in order, then finish (hash checked) or abort. */
export interface IncomingFile {
  write(chunk: Uint8Array): Promise<void>
  /** Store the file under a safe name of the receiver's choosing; returns that name. */
  finish(): Promise<{ savedAs: string, path?: string }>
  abort(): Promise<void>
}

export interface FileReceiver {
  /** Accept an offer (throw to refuse: the message goes back to the sender). */
  open(offer: FileOffer): Promise<IncomingFile>
}

export interface OutgoingFile {
  name: string
  size: number
  /** The file's bytes in pieces of at most `chunkSize`. */
  chunks(chunkSize: number, options?: AbortOptions): AsyncIterable<Uint8Array>
}

export interface Hasher {
  update(data: Uint8Array): void
  digest(): Uint8Array
}

export type ChatEvent =
  | { type: 'hello', peer: string, name: string, publicKey?: Uint8Array }
  | { type: 'message', peer: string, id: string, text: string, sentAt: string, encrypted: boolean }
  | { type: 'file-progress', direction: 'in' | 'out', peer: string, id: string, name: string, bytes: number, total: number }
  | { type: 'file-received', peer: string, id: string, name: string, savedAs: string, path?: string, size: number, sha256: string, encrypted: boolean }
  | { type: 'file-failed', direction: 'in' | 'out', peer: string, id: string, name: string, error: string }
  | { type: 'keys', peer: string, initiator: boolean, fingerprint: string }
  | { type: 'peer-left', peer: string }
  /** An exchange from `peer` refused because a frame could not be opened or came in clear where a sealed one was due (its bytes are not shown), or the peer was over its rate. */
  | { type: 'refused', peer: string, code: string, error: string }

/** Observes every frame as it crosses the stream (after sealing, before opening): tests and diagnostics. */
export type FrameTap = (direction: 'in' | 'out', peer: string, frame: Uint8Array) => void
