import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { AbortOptions } from '../../util/abort'
import { decodeFrame, decodeJson, encodeFrame, encodeHeader, encodeJson, FLAG_SEALED, FrameType, type Body, type JsonFrameType } from './codec'
import { FILE_WINDOW_BYTES, MAX_FRAME_BYTES } from './constants'
import { ChatClosedError, ChatProtocolError, ChatRejectedError, ChatTimeoutError, FrameAuthError } from './errors'
import type { FrameTap, SessionCiphers } from './types'

/** Frames that may travel in clear even when a session exists: they carry no secret. */
const ALWAYS_CLEAR = new Set([FrameType.Hello, FrameType.KeysInit, FrameType.KeysReply, FrameType.KeysFinish, FrameType.Error])

export interface Received {
  type: FrameType
  body: Uint8Array
  sealed: boolean
}

export interface ChatStreamInit {
  peer: string
  /** Set when keys were negotiated with the peer: every frame but the ALWAYS_CLEAR ones is then sealed, both ways. */
  ciphers?: SessionCiphers
  tap?: FrameTap
}

/**
 * One chat stream: length-prefixed frames with sequence numbers, sealed
 * under the session's keys when there is one. A receiver with a session
 * refuses clear frames that should be sealed (no downgrade), and a sealed
 * frame that fails authentication ends the exchange (FrameAuthError).
 */
export class ChatStream {
  readonly peer: string
  private readonly lp: LengthPrefixedStream<Stream>
  private sendSeq = 0
  private recvSeq = 0
  private ciphers?: SessionCiphers

  constructor (readonly stream: Stream, private readonly init: ChatStreamInit) {
    this.peer = init.peer
    this.ciphers = init.ciphers
    // a file sender keeps at most a window in flight: room for it and a frame
    this.lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: FILE_WINDOW_BYTES * 2 + MAX_FRAME_BYTES })
  }

  get sealed (): boolean {
    return this.ciphers != null
  }

  /** Switch to a session's ciphers (after key negotiation, for the confirming ACK). */
  useCiphers (ciphers: SessionCiphers): void {
    this.ciphers = ciphers
  }

  async send (type: FrameType, body: Uint8Array, options?: AbortOptions): Promise<void> {
    const seal = this.ciphers != null && !ALWAYS_CLEAR.has(type)
    const header = encodeHeader(type, seal ? FLAG_SEALED : 0, this.sendSeq++)
    const frame = encodeFrame(header, seal ? await this.ciphers!.outbound.seal(body, header) : body)
    this.init.tap?.('out', this.peer, frame)
    try {
      await this.lp.write(frame, options)
    } catch (err: any) {
      throw translate(err, options)
    }
  }

  async sendJson<T extends JsonFrameType> (type: T, body: Body<T>, options?: AbortOptions): Promise<void> {
    await this.send(type, encodeJson(body), options)
  }

  /** Tell the peer why the exchange ends (best effort) and close. */
  async fail (err: Error, options?: AbortOptions): Promise<void> {
    const code = (err as { code?: unknown }).code
    await this.sendJson(FrameType.Error, {
      code: typeof code === 'string' ? code.slice(0, 64) : 'refused',
      message: err.message.slice(0, 1000)
    }, options).catch(() => {})
    await this.close()
  }

  /** The next frame, opened and checked; ChatClosedError when the stream ends first. */
  async receive (options?: AbortOptions): Promise<Received> {
    let bytes: Uint8Array
    try {
      bytes = (await this.lp.read(options)).subarray()
    } catch (err: any) {
      throw translate(err, options)
    }
    this.init.tap?.('in', this.peer, bytes)
    const frame = decodeFrame(bytes)
    if (frame.seq !== this.recvSeq) throw new ChatProtocolError(`Frame ${frame.seq} arrived where ${this.recvSeq} was expected`)
    this.recvSeq++
    const sealed = (frame.flags & FLAG_SEALED) !== 0
    if (sealed) {
      if (this.ciphers == null) throw new ChatProtocolError('A sealed frame arrived, but no keys were negotiated with this peer: negotiate them again', 'no_session')
      try {
        return { type: frame.type, body: await this.ciphers.inbound.open(frame.body, frame.header), sealed }
      } catch {
        throw new FrameAuthError()
      }
    }
    if (this.ciphers != null && !ALWAYS_CLEAR.has(frame.type)) {
      throw new ChatProtocolError(`A ${FrameType[frame.type]} frame arrived in clear, but keys were negotiated with this peer`, 'encryption_required')
    }
    return { type: frame.type, body: frame.body, sealed }
  }

  /**
   * The next frame, which must be of type `type`: an ERROR from the peer
   * becomes ChatRejectedError, anything else ChatProtocolError.
   */
  async expect<T extends JsonFrameType> (type: T, options?: AbortOptions): Promise<Body<T> & { sealed: boolean }> {
    const frame = await this.receive(options)
    return { ...this.parse(type, frame), sealed: frame.sealed }
  }

  /** Parse a received frame as `type` (ERROR → ChatRejectedError). */
  parse<T extends JsonFrameType> (type: T, frame: Received): Body<T> {
    if (frame.type === FrameType.Error && type !== FrameType.Error) {
      const error = decodeJson(FrameType.Error, frame.body)
      throw new ChatRejectedError(error.message, error.code)
    }
    if (frame.type !== type) throw new ChatProtocolError(`Expected ${FrameType[type]}, got ${FrameType[frame.type]}`)
    return decodeJson(type, frame.body)
  }

  async close (): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(5_000) }).catch((err: Error) => { this.stream.abort(err) })
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }
}

function translate (err: any, options?: AbortOptions): Error {
  if (options?.signal?.aborted === true) {
    const reason = options.signal.reason
    return reason?.name === 'TimeoutError' ? new ChatTimeoutError() : (reason instanceof Error ? reason : new ChatTimeoutError())
  }
  if (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidMessageLengthError' || err?.name === 'InvalidDataLengthLengthError') {
    return new ChatProtocolError(`Frame too large: ${err.message}`)
  }
  if (err?.name === 'UnexpectedEOFError' || err?.name === 'StreamResetError' || err?.name === 'StreamStateError' || err?.name === 'StreamClosedError') {
    return new ChatClosedError(`The chat stream closed: ${err.message}`)
  }
  return err instanceof Error ? err : new Error(String(err))
}
