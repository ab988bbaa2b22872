import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Logger, Stream } from '@libp2p/interface'
import { anySignal, type AbortOptions } from '../../util/abort'
import { decodeFrame, FrameType, Status, type Frame } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_FRAME_BYTES } from './constants'
import {
  ChannelClosedError, ChunkUnavailableError, PeerBusyError, ProtocolViolationError, RequestTimeoutError
} from './errors'
import { send } from './server'

interface Pending {
  type: FrameType.HaveResponse | FrameType.ChunkResponse
  index?: number
  resolve(frame: Frame): void
  reject(err: Error): void
}

export interface ChunkChannelInit {
  log: Logger
  requestTimeoutMs?: number
  /** How many responses may be buffered unread; bounds memory per peer. */
  pipelineDepth?: number
}

/**
 * The client side of /pipbingo/chunk/1.0.0 on one stream to one peer:
 * requests are pipelined, each answered by id, each with a timeout. Any
 * malformed frame closes the channel (ProtocolViolationError) and fails every
 * request in flight; so does the stream closing (ChannelClosedError).
 */
export class ChunkChannel extends EventTarget {
  /** Wall-clock ms of the last bytes received: a stall shows as an old value. */
  lastActivity = Date.now()
  bytesReceived = 0
  closed = false
  closeReason?: Error

  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly timeoutMs: number

  constructor (private readonly stream: Stream, private readonly init: ChunkChannelInit) {
    super()
    this.timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    void this.readLoop()
  }

  get inFlight (): number {
    return this.pending.size
  }

  /** Which chunks the peer holds; undefined when it does not know the content. */
  async have (contentId: string, options?: AbortOptions): Promise<Uint8Array | undefined> {
    const frame = await this.request(FrameType.HaveResponse, id => ({ type: FrameType.HaveRequest, id, contentId }), undefined, options)
    if (frame.type !== FrameType.HaveResponse) throw new ProtocolViolationError()
    if (frame.status === Status.UnknownContent) return undefined
    if (frame.status !== Status.Ok) throw statusError(frame.status)
    return frame.bitfield
  }

  /**
   * Chunk `index` as the peer sent it. NOT verified here: the caller stores
   * it through ChunkStore.putChunk, which checks the hash.
   */
  async getChunk (contentId: string, index: number, options?: AbortOptions): Promise<Uint8Array> {
    const frame = await this.request(FrameType.ChunkResponse, id => ({ type: FrameType.ChunkRequest, id, contentId, index }), index, options)
    if (frame.type !== FrameType.ChunkResponse) throw new ProtocolViolationError()
    if (frame.status !== Status.Ok) throw statusError(frame.status)
    return frame.data
  }

  close (err?: Error): void {
    if (this.closed) return
    this.closed = true
    this.closeReason = err
    const reason = err ?? new ChannelClosedError()
    for (const p of this.pending.values()) p.reject(reason)
    this.pending.clear()
    if (err != null) this.stream.abort(err)
    else void this.stream.close().catch(() => { this.stream.abort(new ChannelClosedError()) })
    this.dispatchEvent(new Event('close'))
  }

  private async request (expect: Pending['type'], build: (id: number) => Frame, index: number | undefined, options?: AbortOptions): Promise<Frame> {
    if (this.closed) throw this.closeReason ?? new ChannelClosedError()
    const id = this.nextId++
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = anySignal(options?.signal, timeout)
    signal.throwIfAborted()
    return await new Promise<Frame>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return
        void send(this.stream, { type: FrameType.Cancel, id }).catch(() => {})
        reject(timeout.aborted ? new RequestTimeoutError(`No answer from the peer in ${this.timeoutMs} ms`) : signal.reason)
      }
      const done = (): void => signal.removeEventListener('abort', onAbort)
      this.pending.set(id, {
        type: expect,
        index,
        resolve: (f) => { done(); resolve(f) },
        reject: (e) => { done(); reject(e) }
      })
      signal.addEventListener('abort', onAbort, { once: true })
      send(this.stream, build(id), { signal }).catch((err: Error) => {
        const p = this.pending.get(id)
        if (p == null) return
        this.pending.delete(id)
        p.reject(this.closed ? (this.closeReason ?? new ChannelClosedError()) : err)
      })
    })
  }

  private async readLoop (): Promise<void> {
    const depth = this.init.pipelineDepth ?? 8
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_FRAME_BYTES * (depth + 2) })
    try {
      for await (const buf of this.stream) {
        this.lastActivity = Date.now()
        this.bytesReceived += buf.byteLength
        for (const raw of decoder.decode(buf)) this.dispatch(decodeFrame(raw))
      }
      this.close()
    } catch (err: any) {
      if (this.closed) return
      const violation = err?.name === 'FrameDecodeError' || err?.name === 'InvalidMessageLengthError' || err?.name === 'InvalidParametersError' || err instanceof ProtocolViolationError
      this.init.log('chunk channel closed: %s', err?.message)
      this.close(violation ? new ProtocolViolationError(err.message) : new ChannelClosedError(err?.message))
    }
  }

  private dispatch (frame: Frame): void {
    if (frame.type !== FrameType.HaveResponse && frame.type !== FrameType.ChunkResponse) {
      throw new ProtocolViolationError(`The server sent a ${FrameType[frame.type]} frame`)
    }
    const pending = this.pending.get(frame.id)
    if (pending == null) return // answered after we cancelled or timed out
    if (pending.type !== frame.type || (frame.type === FrameType.ChunkResponse && frame.index !== pending.index)) {
      throw new ProtocolViolationError('The answer does not match the request')
    }
    this.pending.delete(frame.id)
    pending.resolve(frame)
  }
}

function statusError (status: Status): Error {
  switch (status) {
    case Status.Busy: return new PeerBusyError()
    case Status.UnknownContent: return new ChunkUnavailableError('The peer does not know this content')
    case Status.DontHave: return new ChunkUnavailableError()
    default: return new ProtocolViolationError(`The peer answered status ${status}`)
  }
}
