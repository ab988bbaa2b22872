import { TimeoutError, type Stream, type StreamCloseEvent } from '@libp2p/interface'
import type { AbortOptions } from '../../util/abort'
import { encodeFrame, type Frame } from './codec'
import { ChannelClosedError } from './errors'

/** A write that waits this long for the peer to read anything fails, and the stream ends. */
const WRITE_STALL_TIMEOUT_MS = 30_000

/**
 * Writes one stream's frames in order, one at a time: a frame is handed to
 * the stream only once the one before has left its buffer.
 */
export class FrameWriter {
  private writing = false
  private readonly turns: Array<() => void> = []

  constructor (private readonly stream: Stream, private readonly ended: AbortSignal) {}

  /**
   * Resolves true once the frame has left the stream's buffer, false when
   * `skip` (the request was cancelled) aborted before its turn or the
   * producer had nothing to send. A producer is called at the frame's turn.
   * Rejects when the stream's work ended.
   */
  async write (frame: Frame | (() => Frame | undefined | Promise<Frame | undefined>), skip?: AbortSignal): Promise<boolean> {
    if (this.writing) await new Promise<void>(resolve => this.turns.push(resolve))
    this.writing = true
    try {
      this.ended.throwIfAborted()
      if (skip?.aborted === true) return false
      const produced = typeof frame === 'function' ? await frame() : frame
      if (produced == null) return false
      await send(this.stream, produced, { signal: this.ended })
      return true
    } finally {
      const next = this.turns.shift()
      if (next != null) next()
      else this.writing = false
    }
  }
}

/**
 * Send one frame and wait until it has left the stream's own buffer, that
 * is until the muxer took all of it (for yamux: the peer gave the window).
 * Waits on the stream's `drain` events rather than `stream.onDrain()`,
 * which in @libp2p/utils 7.4.1 resolves at once after a stream's first
 * drain; each wait fails after 30 s without one (TimeoutError), when the
 * stream closes (ChannelClosedError or the stream's error) or when
 * `options.signal` aborts. The frame stays queued in the stream either way.
 * Concurrent callers each wait for the buffer to empty, so bound their
 * number: ChunkServer writes one frame at a time per stream.
 */
export async function send (stream: Stream, frame: Frame, options?: AbortOptions): Promise<void> {
  if (stream.writeStatus !== 'writable') throw new ChannelClosedError(`The stream is ${stream.writeStatus}`)
  if (stream.send(encodeFrame(frame)) && stream.writeBufferLength === 0) return
  do {
    await drained(stream, options?.signal)
  } while (stream.writeBufferLength > 0)
}

/** The stream's next `drain` event. */
async function drained (stream: Stream, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  if (stream.writeStatus === 'closed' || (stream.status !== 'open' && stream.status !== 'closing')) {
    throw new ChannelClosedError(`The stream is ${stream.status}`)
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      done()
      reject(new TimeoutError(`The peer read nothing for ${WRITE_STALL_TIMEOUT_MS / 1000} s`))
    }, WRITE_STALL_TIMEOUT_MS)
    const onDrain = (): void => { done(); resolve() }
    const onClose = (evt: Event): void => { done(); reject((evt as StreamCloseEvent).error ?? new ChannelClosedError()) }
    const onAbort = (): void => { done(); reject(signal?.reason) }
    const done = (): void => {
      clearTimeout(timer)
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
