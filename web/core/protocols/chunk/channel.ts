import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Logger, Stream } from '@libp2p/interface'
import { anySignal, type AbortOptions } from '../../util/abort'
import { decodeFrame, FrameType, Status, type Frame } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_FRAME_BYTES } from './constants'
import {
  ChannelClosedError, ChunkElsewhereError, ChunkUnavailableError, PeerBusyError, ProtocolViolationError, RequestTimeoutError
} from './errors'
import { send } from './frame-writer'

interface Pending {
  type: FrameType.HaveResponse | FrameType.ChunkResponse
  index?: number
  /** A HAVE_SUBSCRIBE: its updates go here from the moment it is answered OK. */
  subscriber?: HaveUpdateListener
  resolve(frame: Frame): void
  reject(err: Error): void
}

/** Chunks a subscribed peer has just stored (lowest first within one update). */
export type HaveUpdateListener = (indexes: number[]) => void

export interface HaveSubscription {
  /** What the peer held when the subscription started (MSB first, chunk 0 = 0x80 of byte 0). */
  readonly bitfield: Uint8Array
  /** Stop the updates (sends CANCEL); quiet when already ended. */
  cancel(): void
}

export interface ChunkChannelInit {
  log: Logger
  requestTimeoutMs?: number
  /** How many responses may be buffered unread; bounds memory per peer. */
  pipelineDepth?: number
}

/**
 * The client side of /pipbingo/chunk/1.1.0 on one stream to one peer:
 * requests are pipelined, each answered by id, each with a timeout; HAVE
 * subscriptions deliver the peer's new chunks as they land. Any malformed
 * frame closes the channel (ProtocolViolationError) and fails every request
 * in flight; so does the stream closing (ChannelClosedError), which also
 * ends every subscription.
 */
export class ChunkChannel extends EventTarget {
  /** Wall-clock ms of the last bytes received: a stall shows as an old value. */
  lastActivity = Date.now()
  bytesReceived = 0
  closed = false
  closeReason?: Error

  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  /** Live HAVE subscriptions by id, and how to detach each from its caller's signal. */
  private readonly subscriptions = new Map<number, { listener: HaveUpdateListener, detach(): void }>()
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
   * Which chunks the peer holds now, and from then on each chunk it stores,
   * pushed: `onUpdate` is called with the indexes of every HAVE_UPDATE
   * (possibly before this promise resolves, as the answer and the first
   * updates may arrive together). Undefined, and no subscription, when the
   * peer does not know the content. Throws PeerBusyError past the peer's
   * cap of subscriptions per stream. The timeout bounds the answer;
   * `options.signal` aborting later ends the subscription, like `cancel()`
   * and the channel closing.
   */
  async subscribeHave (contentId: string, onUpdate: HaveUpdateListener, options?: AbortOptions): Promise<HaveSubscription | undefined> {
    const frame = await this.request(FrameType.HaveResponse, id => ({ type: FrameType.HaveSubscribe, id, contentId }), undefined, options, onUpdate)
    if (frame.type !== FrameType.HaveResponse) throw new ProtocolViolationError()
    if (frame.status === Status.UnknownContent) return undefined
    if (frame.status !== Status.Ok) throw statusError(frame.status)
    const id = frame.id
    const cancel = (): void => { this.unsubscribe(id) }
    const live = this.subscriptions.get(id)
    if (live == null) return { bitfield: frame.bitfield, cancel } // the channel closed meanwhile
    if (options?.signal?.aborted === true) {
      cancel()
    } else if (options?.signal != null) {
      const signal = options.signal
      signal.addEventListener('abort', cancel, { once: true })
      live.detach = () => { signal.removeEventListener('abort', cancel) }
    }
    return { bitfield: frame.bitfield, cancel }
  }

  /**
   * Chunk `index` as the peer sent it. NOT verified here: the caller stores
   * it through ChunkStore.putChunk, which checks the hash.
   */
  async getChunk (contentId: string, index: number, options?: AbortOptions & { isolated?: boolean }): Promise<Uint8Array> {
    const isolated = options?.isolated === true ? { isolated: true } : {}
    const frame = await this.request(FrameType.ChunkResponse, id => ({ type: FrameType.ChunkRequest, id, contentId, index, ...isolated }), index, options)
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
    for (const sub of this.subscriptions.values()) sub.detach()
    this.subscriptions.clear()
    if (err != null) this.stream.abort(err)
    else void this.stream.close().catch(() => { this.stream.abort(new ChannelClosedError()) })
    this.dispatchEvent(new Event('close'))
  }

  private unsubscribe (id: number): void {
    const sub = this.subscriptions.get(id)
    if (sub == null) return
    this.subscriptions.delete(id)
    sub.detach()
    if (!this.closed) void send(this.stream, { type: FrameType.Cancel, id }).catch(() => {})
  }

  private async request (expect: Pending['type'], build: (id: number) => Frame, index: number | undefined, options?: AbortOptions, subscriber?: HaveUpdateListener): Promise<Frame> {
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
        subscriber,
        resolve: (f) => { done(); resolve(f) },
        reject: (e) => { done(); reject(e) }
      })
      signal.addEventListener('abort', onAbort, { once: true })
      send(this.stream, build(id), { signal }).catch((err: Error) => {
        // a stream that can no longer be written is a dead channel, even while the peer's side stays
        // open: closed, so that the next request opens another stream (its cache handed this one back
        // to each new try, and a bridge stalled 90 s on a tab so)
        if (err instanceof ChannelClosedError && !this.closed) this.close(err)
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
    if (frame.type === FrameType.HaveUpdate) {
      this.update(frame.id, frame.indexes)
      return
    }
    if (frame.type !== FrameType.HaveResponse && frame.type !== FrameType.ChunkResponse) {
      throw new ProtocolViolationError(`The server sent a ${FrameType[frame.type]} frame`)
    }
    const pending = this.pending.get(frame.id)
    if (pending == null) return // answered after we cancelled or timed out
    if (pending.type !== frame.type || (frame.type === FrameType.ChunkResponse && frame.index !== pending.index)) {
      throw new ProtocolViolationError('The answer does not match the request')
    }
    this.pending.delete(frame.id)
    // live from now: the updates right behind this answer must find it
    if (pending.subscriber != null && frame.type === FrameType.HaveResponse && frame.status === Status.Ok) {
      this.subscriptions.set(frame.id, { listener: pending.subscriber, detach: () => {} })
    }
    pending.resolve(frame)
  }

  private update (id: number, indexes: number[]): void {
    const sub = this.subscriptions.get(id)
    if (sub == null) {
      // updates sent before our CANCEL reached the peer are expected; others are not
      if (this.pending.has(id) || id >= this.nextId) throw new ProtocolViolationError('A HAVE_UPDATE for no subscription')
      return
    }
    try {
      sub.listener(indexes)
    } catch (err: any) {
      this.init.log.error('a HAVE_UPDATE listener failed: %s', err?.message)
    }
  }
}

function statusError (status: Status): Error {
  switch (status) {
    case Status.Busy: return new PeerBusyError()
    case Status.UnknownContent: return new ChunkUnavailableError('The peer does not know this content')
    case Status.DontHave: return new ChunkUnavailableError()
    case Status.Elsewhere: return new ChunkElsewhereError()
    default: return new ProtocolViolationError(`The peer answered status ${status}`)
  }
}
