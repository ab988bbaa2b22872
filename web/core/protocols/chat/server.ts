import type { Connection, Logger, Stream } from '@libp2p/interface'
import { fromBase64 } from './base64'
import { ChatStream } from './chat-stream'
import { FrameType, type Body } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_MESSAGE_BYTES } from './constants'
import { ChatProtocolError, ChatRejectedError } from './errors'
import { respondKeys } from './keys'
import { receiveFile } from './receive-file'
import type { ChatEvent, ChatKeys, FileReceiver, FrameTap, Hasher } from './types'
import type { SeenIds } from './util'

export interface ChatServerInit {
  self: string
  hello(): Body<FrameType.Hello>
  keys: ChatKeys
  receiver: FileReceiver
  createHasher(): Hasher
  maxFileBytes: number
  seen: SeenIds
  accepting(): boolean
  /** True when we are negotiating keys with `peer` ourselves and our negotiation is the one to go on. */
  keysCollision(peer: string): boolean
  /** A negotiation `peer` started with us begins / ends (ours waits for it rather than start another). */
  responding(peer: string, busy: boolean): void
  onEvent(event: ChatEvent): void
  /** Whether `peer` may open one more exchange now (a rate limit); refused with `rate_limited` when not. */
  admit?(peer: string): boolean
  tap?: FrameTap
  log: Logger
  requestTimeoutMs?: number
  fileIdleTimeoutMs?: number
}

/**
 * Answers the exchanges other peers open: the first frame says which. A
 * message is emitted once (ids remembered per peer) and then acknowledged.
 * Whatever goes wrong — a malformed frame, a frame that fails
 * authentication, a clear frame where a sealed one is due — ends the stream
 * with an ERROR frame and is logged; it never throws out of `handle`.
 */
export class ChatServer {
  constructor (private readonly init: ChatServerInit) {}

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const { keys, log } = this.init
    const s = new ChatStream(stream, { peer, ciphers: keys.session(peer), tap: this.init.tap })
    const timeout = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) })
    try {
      if (!this.init.accepting()) throw new ChatRejectedError('Chat is stopped on this peer', 'offline')
      if (this.init.admit?.(peer) === false) throw new ChatRejectedError('Too many chat requests: slow down', 'rate_limited')
      const first = await s.receive(timeout())
      switch (first.type) {
        case FrameType.Hello: {
          const hello = s.parse(FrameType.Hello, first)
          await s.sendJson(FrameType.Hello, this.init.hello(), timeout())
          this.init.onEvent({ type: 'hello', peer, name: hello.name, publicKey: decodeKey(hello.public_key) })
          break
        }
        case FrameType.Message: {
          const message = s.parse(FrameType.Message, first)
          if (new TextEncoder().encode(message.text).byteLength > MAX_MESSAGE_BYTES) throw new ChatRejectedError(`Messages are at most ${MAX_MESSAGE_BYTES} bytes`, 'too_large')
          if (this.init.seen.add(peer, message.id)) {
            this.init.onEvent({ type: 'message', peer, id: message.id, text: message.text, sentAt: message.sent_at, encrypted: first.sealed })
          }
          await s.sendJson(FrameType.Ack, { id: message.id }, timeout())
          break
        }
        case FrameType.FileOffer:
          await receiveFile(s, s.parse(FrameType.FileOffer, first), {
            receiver: this.init.receiver,
            hasher: this.init.createHasher(),
            maxFileBytes: this.init.maxFileBytes,
            limited: connection.limits != null,
            onEvent: this.init.onEvent,
            idleTimeoutMs: this.init.fileIdleTimeoutMs
          })
          break
        case FrameType.KeysInit: {
          if (this.init.keysCollision(peer)) throw new ChatRejectedError('Both sides started a key negotiation: the one from the lower peer id goes on', 'collision')
          this.init.responding(peer, true)
          try {
            const ciphers = await respondKeys(s, keys, this.init.self, s.parse(FrameType.KeysInit, first), timeout())
            this.init.onEvent({ type: 'keys', peer, initiator: false, fingerprint: ciphers.fingerprint })
          } finally {
            this.init.responding(peer, false)
          }
          break
        }
        default:
          throw new ChatProtocolError(`A chat stream cannot start with ${FrameType[first.type]}`)
      }
      await s.close()
    } catch (err: any) {
      log('chat stream from %s failed: %s', peer, err?.message)
      // what the peer sent could not be trusted: said to the host (a conversation shows it), never shown as sent
      if (REFUSED_CODES.has(err?.code)) this.init.onEvent({ type: 'refused', peer, code: err.code, error: String(err.message) })
      await s.fail(err instanceof Error ? err : new Error(String(err)), { signal: AbortSignal.timeout(2_000) })
    }
  }
}

/** Failures the host hears about: a frame that failed authentication, a clear frame where a sealed one was due, a sealed one without a session, a peer over its rate. */
const REFUSED_CODES = new Set(['auth_failed', 'encryption_required', 'no_session', 'rate_limited'])

function decodeKey (b64: string | undefined): Uint8Array | undefined {
  return b64 == null ? undefined : fromBase64(b64)
}
