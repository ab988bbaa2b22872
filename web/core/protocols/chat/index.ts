import { sha256 } from '@noble/hashes/sha2.js'
import type { ComponentLogger, Connection, IdentifyResult, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { anySignal, type AbortOptions } from '../../util/abort'
import { fromBase64, toBase64 } from './base64'
import { ChatStream } from './chat-stream'
import { FrameType } from './codec'
import {
  DEFAULT_MAX_FILE_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, MAX_CHUNK_SIZE, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS, MIN_CHUNK_SIZE, PROTOCOL, SEEN_MESSAGE_IDS
} from './constants'
import { ChatClosedError, ChatLimitedConnectionError, ChatProtocolError, ChatTimeoutError } from './errors'
import { initiateKeys } from './keys'
import { sendFile } from './send-file'
import { ChatServer } from './server'
import type { ChatEvent, ChatKeys, FileReceiver, FrameTap, Hasher, OutgoingFile } from './types'
import { randomId, SeenIds } from './util'

export { PROTOCOL } from './constants'
export * from './errors'
export type * from './types'

/** A message id as the codec takes it. */
const MESSAGE_ID = /^[0-9a-f]{32}$/

export interface ChatProtocolComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  peerId: PeerId
  logger: ComponentLogger
}

export interface ChatProtocolInit {
  /** Our display name, announced in HELLO (read at each hello: it may change). */
  name(): string
  keys: ChatKeys
  receiver: FileReceiver
  onEvent?(event: ChatEvent): void
  /** SHA-256 for file transfers (default @noble/hashes; Node passes its native one). */
  createHasher?(): Hasher
  maxFileBytes?: number
  /** Whether `peer` may open one more exchange now; the bridge has no limit, a tab sets one (web/peer/chat/). */
  admit?(peer: string): boolean
  tap?: FrameTap
  requestTimeoutMs?: number
  fileIdleTimeoutMs?: number
}

export interface SendFileOptions extends AbortOptions {
  chunkSize: number
  /** Bytes the receiver acknowledged. */
  onProgress?(bytes: number): void
}

/** Direct messages, files and key negotiation with named peers. */
export interface ChatProtocol {
  /** Whether we take chat streams (`p2p stop` turns it off). */
  accepting: boolean
  /** Exchange names and KEM keys with a peer (done on its own when a chat peer connects). */
  hello(peer: PeerId, options?: AbortOptions): Promise<{ name: string, publicKey?: Uint8Array }>
  /** Deliver one message; resolves once the peer acknowledged it. Messages to one peer go out in order. */
  /**
   * `options.id` (32 hex digits, default a random one): a message sent again
   * after a failure must carry the id it first had, so that a receiver that
   * got it (only the acknowledgement was lost) drops the copy.
   */
  sendMessage(peer: PeerId, text: string, options?: AbortOptions & { id?: string }): Promise<{ id: string, encrypted: boolean }>
  sendFile(peer: PeerId, file: OutgoingFile, options: SendFileOptions): Promise<{ id: string, sha256: string, encrypted: boolean }>
  negotiateKeys(peer: PeerId, options?: AbortOptions): Promise<{ fingerprint: string }>
}

const nobleHasher = (): Hasher => {
  const h = sha256.create()
  return { update: d => { h.update(d) }, digest: () => h.digest() }
}

class ChatProtocolService implements ChatProtocol, Startable {
  accepting = true
  private readonly log
  private readonly server: ChatServer
  private readonly queues = new Map<string, Promise<unknown>>()
  private readonly greeted = new Set<string>()
  /** Peers we are negotiating keys with, peers negotiating with us, and the last negotiation each peer started with us. */
  private readonly initiating = new Set<string>()
  private readonly responding = new Map<string, number>()
  private readonly answered = new Map<string, { fingerprint: string, at: number }>()
  private readonly answerWaiters = new Map<string, Array<(fingerprint: string) => void>>()
  private readonly emit: (event: ChatEvent) => void

  constructor (private readonly components: ChatProtocolComponents, private readonly init: ChatProtocolInit) {
    this.log = components.logger.forComponent('pipbingo:chat')
    this.emit = event => {
      if (event.type === 'hello') this.greeted.add(event.peer)
      if (event.type === 'keys' && !event.initiator) {
        this.answered.set(event.peer, { fingerprint: event.fingerprint, at: Date.now() })
        for (const w of this.answerWaiters.get(event.peer)?.splice(0) ?? []) w(event.fingerprint)
      }
      try { init.onEvent?.(event) } catch (err: any) { this.log.error('chat event handler failed: %s', err?.message) }
    }
    this.server = new ChatServer({
      self: components.peerId.toString(),
      hello: () => this.helloBody(),
      keys: init.keys,
      receiver: init.receiver,
      createHasher: init.createHasher ?? nobleHasher,
      maxFileBytes: init.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      seen: new SeenIds(SEEN_MESSAGE_IDS),
      accepting: () => this.accepting,
      keysCollision: peer => this.initiating.has(peer) && components.peerId.toString() < peer,
      responding: (peer, busy) => {
        const n = (this.responding.get(peer) ?? 0) + (busy ? 1 : -1)
        if (n > 0) this.responding.set(peer, n)
        else this.responding.delete(peer)
      },
      onEvent: this.emit,
      admit: init.admit,
      tap: init.tap,
      log: this.log,
      requestTimeoutMs: init.requestTimeoutMs,
      fileIdleTimeoutMs: init.fileIdleTimeoutMs
    })
  }

  private readonly onIdentify = (e: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = e.detail
    if (!this.accepting || !protocols.includes(PROTOCOL) || this.greeted.has(peerId.toString())) return
    this.hello(peerId).catch((err: Error) => { this.log('hello to %p failed: %s', peerId, err.message) })
  }

  private readonly onDisconnect = (e: CustomEvent<PeerId>): void => {
    const peer = e.detail.toString()
    if (this.greeted.delete(peer)) this.emit({ type: 'peer-left', peer })
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL, (stream, connection) => this.server.handle(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      // messages and key negotiation are small enough for a relayed connection; files are refused there
      runOnLimitedConnection: true
    })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.components.registrar.unhandle(PROTOCOL)
  }

  async hello (peer: PeerId, options?: AbortOptions): Promise<{ name: string, publicKey?: Uint8Array }> {
    return await this.exchange(peer, false, options, async (s, opts) => {
      await s.sendJson(FrameType.Hello, this.helloBody(), opts)
      const hello = await s.expect(FrameType.Hello, opts)
      const publicKey = hello.public_key == null ? undefined : fromBase64(hello.public_key)
      this.emit({ type: 'hello', peer: s.peer, name: hello.name, publicKey })
      return { name: hello.name, publicKey }
    })
  }

  async sendMessage (peer: PeerId, text: string, options?: AbortOptions & { id?: string }): Promise<{ id: string, encrypted: boolean }> {
    if (new TextEncoder().encode(text).byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`A message is at most ${MAX_MESSAGE_BYTES} bytes`)
    if (options?.id != null && !MESSAGE_ID.test(options.id)) throw new RangeError('A message id is 32 hex digits')
    const id = options?.id ?? randomId()
    const body = { id, text, sent_at: new Date().toISOString() }
    return await this.serialize(peer.toString(), async () => {
      // one retry, same id, when the stream broke: the receiver drops the copy it already has
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.exchange(peer, false, options, async (s, opts) => {
            await s.sendJson(FrameType.Message, body, opts)
            const ack = await s.expect(FrameType.Ack, opts)
            if (ack.id !== id) throw new ChatProtocolError('The peer acknowledged another message')
            return { id, encrypted: s.sealed }
          })
        } catch (err: any) {
          if (attempt >= 2 || !(err instanceof ChatClosedError) || options?.signal?.aborted === true) throw err
        }
      }
    })
  }

  async sendFile (peer: PeerId, file: OutgoingFile, options: SendFileOptions): Promise<{ id: string, sha256: string, encrypted: boolean }> {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < MIN_CHUNK_SIZE || options.chunkSize > MAX_CHUNK_SIZE) {
      throw new RangeError(`chunk_size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`)
    }
    const id = randomId()
    const emitOut = (bytes: number): void => {
      this.emit({ type: 'file-progress', direction: 'out', peer: peer.toString(), id, name: file.name, bytes, total: file.size })
      options.onProgress?.(bytes)
    }
    const s = await this.open(peer, true, options)
    try {
      const { sha256 } = await sendFile(s, file, {
        id, chunkSize: options.chunkSize, hasher: (this.init.createHasher ?? nobleHasher)(),
        onProgress: emitOut, signal: options.signal, idleTimeoutMs: this.init.fileIdleTimeoutMs
      })
      await s.close()
      return { id, sha256, encrypted: s.sealed }
    } catch (err: any) {
      s.abort(err instanceof Error ? err : new Error(String(err)))
      this.emit({ type: 'file-failed', direction: 'out', peer: peer.toString(), id, name: file.name, error: err?.message ?? String(err) })
      throw err
    }
  }

  /**
   * Negotiate a session with `peer`. One negotiation at a time per pair, so
   * both sides end with the same session: while the peer's negotiation with
   * us is under way we wait for it instead of starting ours; when both start
   * at once, the one from the lower peer id goes on (the other side refuses
   * ours with `collision`) and we return the session it set up.
   */
  async negotiateKeys (peer: PeerId, options?: AbortOptions): Promise<{ fingerprint: string }> {
    const key = peer.toString()
    return await this.serialize(key, async () => {
      const started = Date.now()
      if (this.responding.has(key)) return { fingerprint: await this.answeredSince(key, started, options) }
      this.initiating.add(key)
      try {
        return await this.exchange(peer, false, options, async (s, opts) => {
          const ciphers = await initiateKeys(s, this.init.keys, this.components.peerId.toString(), opts)
          this.emit({ type: 'keys', peer: s.peer, initiator: true, fingerprint: ciphers.fingerprint })
          return { fingerprint: ciphers.fingerprint }
        })
      } catch (err: any) {
        if (err?.code !== 'collision') throw err
        return { fingerprint: await this.answeredSince(key, started, options) }
      } finally {
        this.initiating.delete(key)
      }
    })
  }

  /** The fingerprint of the negotiation `peer` started with us after `since` (now, or when it finishes). */
  private async answeredSince (peer: string, since: number, options?: AbortOptions): Promise<string> {
    const done = this.answered.get(peer)
    if (done != null && done.at >= since) return done.fingerprint
    const signal = anySignal(options?.signal, AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS))
    return await new Promise<string>((resolve, reject) => {
      const waiters = this.answerWaiters.get(peer) ?? []
      this.answerWaiters.set(peer, waiters)
      const onAbort = (): void => { waiters.splice(waiters.indexOf(settle), 1); reject(new ChatTimeoutError('The peer\'s own key negotiation did not finish')) }
      const settle = (fingerprint: string): void => { signal.removeEventListener('abort', onAbort); resolve(fingerprint) }
      waiters.push(settle)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private helloBody (): { name: string, public_key: string, agent: string } {
    return { name: this.init.name(), public_key: toBase64(this.init.keys.publicKey()), agent: 'pipbingo/0.1' }
  }

  /** One request/response exchange on a fresh stream, with a deadline. */
  private async exchange<T> (peer: PeerId, direct: boolean, options: AbortOptions | undefined, run: (s: ChatStream, opts: { signal: AbortSignal }) => Promise<T>): Promise<T> {
    const signal = anySignal(options?.signal, AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS))
    const s = await this.open(peer, direct, { signal })
    try {
      const result = await run(s, { signal })
      await s.close()
      return result
    } catch (err: any) {
      s.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  private async open (peer: PeerId, direct: boolean, options?: AbortOptions): Promise<ChatStream> {
    const signal = anySignal(options?.signal, AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS))
    const open = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
    let connection: Connection | undefined = open.find(c => c.limits == null) ?? (direct ? undefined : open[0])
    if (connection == null) {
      try {
        connection = await this.components.connectionManager.openConnection(peer, { signal })
      } catch (err: any) {
        // a file to a peer reached only through a relay: say that, not the failed dial's timeout
        if (direct && open.length > 0) throw new ChatLimitedConnectionError(`Only a relayed connection to the peer exists, and a direct one could not be made (${String(err?.message ?? err)}): files need a direct connection`)
        throw err
      }
    }
    if (direct && connection.limits != null) throw new ChatLimitedConnectionError()
    const stream = await connection.newStream(PROTOCOL, { signal, runOnLimitedConnection: !direct })
    return new ChatStream(stream, { peer: peer.toString(), ciphers: this.init.keys.session(peer.toString()), tap: this.init.tap })
  }

  /** Run `task` after the previous tasks for `key`: messages to one peer leave (and arrive) in order. */
  private async serialize<T> (key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(task)
    this.queues.set(key, next)
    try {
      return await next
    } finally {
      if (this.queues.get(key) === next) this.queues.delete(key)
    }
  }
}

/** A libp2p service: `services: { chat: chatProtocol({ name, keys, receiver, onEvent }) }`. */
export function chatProtocol (init: ChatProtocolInit): (components: ChatProtocolComponents) => ChatProtocol & Startable {
  return (components) => new ChatProtocolService(components, init)
}
