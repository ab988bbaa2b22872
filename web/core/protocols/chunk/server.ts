import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { ChunkStore } from '../../store/types'
import { Semaphore } from '../../util/semaphore'
import { decodeFrame, FrameType, Status, type Frame } from './codec'
import { DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER, DEFAULT_MAX_HAVE_SUBSCRIPTIONS, DEFAULT_MAX_QUEUED_REQUESTS } from './constants'
import { ProtocolViolationError } from './errors'
import { FrameWriter } from './frame-writer'
import { HaveSubscriptions } from './have-subscriptions'

/** Requests are tiny: anything larger than this from a client is a violation. */
const MAX_REQUEST_FRAME_BYTES = 64

/** A peer with this many requests unanswered on one stream asks without reading the answers: it loses the stream. */
const MAX_UNANSWERED_REQUESTS = 1024

const EMPTY = new Uint8Array(0)

type ChunkRequest = Extract<Frame, { type: FrameType.ChunkRequest }>

export interface UploadEvent {
  peer: string
  contentId: string
  index: number
  bytes: number
}

export interface ChunkServerInit {
  store: ChunkStore
  log: Logger
  maxConcurrentUploadsPerPeer?: number
  maxQueuedRequests?: number
  /** HAVE subscriptions one stream may hold at once (16); past this, BUSY. */
  maxHaveSubscriptions?: number
  /** Called after each chunk has left the stream's buffer. */
  onUpload?(event: UploadEvent): void
  /** Return false to refuse serving (e.g. P2P turned off); answers BUSY. */
  canUpload?(peer: string, contentId: string): boolean
  /** Awaited before each chunk is sent: an upload limit waits here. */
  beforeUpload?(bytes: number, options: { signal: AbortSignal }): Promise<void>
  /** Asked once a chunk is ready to send; false answers ELSEWHERE instead (the origin's SuperSeed). `isolated`: the request's flag. */
  admit?(peer: string, contentId: string, index: number, isolated: boolean): boolean
}

/**
 * Answers HAVE and CHUNK requests from the store, and pushes the chunks the
 * store stores to the stream's HAVE subscriptions (HaveSubscriptions). Only
 * verified chunks are in a store (ChunkStore.putChunk checks every hash), so
 * only verified chunks are served. At most `maxConcurrentUploadsPerPeer`
 * chunks are read and sent at once for one remote peer, across all its
 * streams; more than `maxQueuedRequests` CHUNK (or HAVE) requests waiting on
 * one stream, or more than `maxHaveSubscriptions` subscriptions, are
 * answered BUSY.
 *
 * Whatever the peer does — stop reading, reset, flood, vanish — costs
 * bounded memory and never an unhandled rejection: answers are written one
 * at a time, each once the one before has left the stream's buffer (so a
 * peer that does not read holds at most one frame there, plus the chunks
 * that hold the peer's upload permits); a failed write ends the stream's
 * work and is logged at debug level.
 */
export class ChunkServer {
  private readonly slots = new Map<string, { semaphore: Semaphore, streams: number }>()
  private readonly maxUploads: number
  private readonly maxQueued: number
  private readonly maxSubscriptions: number

  constructor (private readonly init: ChunkServerInit) {
    this.maxUploads = init.maxConcurrentUploadsPerPeer ?? DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER
    this.maxQueued = init.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS
    this.maxSubscriptions = init.maxHaveSubscriptions ?? DEFAULT_MAX_HAVE_SUBSCRIPTIONS
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const slot = this.slotFor(peer)
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_REQUEST_FRAME_BYTES, maxBufferSize: MAX_REQUEST_FRAME_BYTES * 256 })
    // aborted when this stream's work ends: the peer left, reset, stalled or broke the protocol
    const ended = new AbortController()
    const out = new FrameWriter(stream, ended.signal)
    const queued = new Map<number, AbortController>()
    const work = new Set<Promise<void>>()
    let haves = 0

    const end = (err: Error): void => {
      if (ended.signal.aborted) return
      this.init.log('chunk stream from %s ended: %s', peer, err.message)
      ended.abort(err)
      for (const c of queued.values()) c.abort(err)
      stream.abort(err)
    }
    // every answer is a promise that never rejects: its failure ends the stream
    const track = (answer: Promise<unknown>): void => {
      const p: Promise<void> = answer.catch((err: unknown) => { end(err instanceof Error ? err : new Error(String(err))) })
        .then(() => { work.delete(p) })
      work.add(p)
    }
    const subscriptions = new HaveSubscriptions({ store: this.init.store, out, track, log: this.init.log, max: this.maxSubscriptions })

    try {
      for await (const buf of stream) {
        for (const raw of decoder.decode(buf)) {
          const frame = decodeFrame(raw)
          if (frame.type === FrameType.Cancel) {
            queued.get(frame.id)?.abort()
            subscriptions.cancel(frame.id)
            continue
          }
          if (work.size >= MAX_UNANSWERED_REQUESTS) throw new ProtocolViolationError(`${work.size} requests unanswered: the peer does not read its answers`)
          switch (frame.type) {
            case FrameType.HaveRequest: {
              const { id, contentId } = frame
              if (haves >= this.maxQueued) {
                track(out.write({ type: FrameType.HaveResponse, id, status: Status.Busy, bitfield: EMPTY }))
                break
              }
              haves++
              // the bitfield is read when its turn to be written comes: one at a time
              track(out.write(async () => await this.haveAnswer(id, contentId)).finally(() => { haves-- }))
              break
            }
            case FrameType.ChunkRequest: {
              if (queued.size >= this.maxQueued || queued.has(frame.id)) {
                track(out.write({ type: FrameType.ChunkResponse, id: frame.id, status: Status.Busy, index: frame.index, data: EMPTY }))
                break
              }
              const controller = new AbortController()
              queued.set(frame.id, controller)
              track(this.answerChunk(out, peer, slot.semaphore, frame, controller.signal).finally(() => queued.delete(frame.id)))
              break
            }
            case FrameType.HaveSubscribe:
              subscriptions.subscribe(frame.id, frame.contentId)
              break
            default:
              throw new ProtocolViolationError(`a client sent a ${FrameType[frame.type]} frame`)
          }
        }
      }
      // the client closed its side: its subscriptions end with it
      subscriptions.cancelAll()
      await Promise.all(work)
      if (!ended.signal.aborted) await stream.close({ signal: AbortSignal.timeout(5_000) }).catch((err: Error) => { stream.abort(err) })
    } catch (err: any) {
      end(err instanceof Error ? err : new Error(String(err)))
    } finally {
      subscriptions.cancelAll()
      // what is still under way gives up at once (ended), and gives its permits back
      await Promise.all(work)
      if (--slot.streams === 0) this.slots.delete(peer)
    }
  }

  private slotFor (peer: string): { semaphore: Semaphore, streams: number } {
    let slot = this.slots.get(peer)
    if (slot == null) {
      slot = { semaphore: new Semaphore(this.maxUploads), streams: 0 }
      this.slots.set(peer, slot)
    }
    slot.streams++
    return slot
  }

  private async haveAnswer (id: number, contentId: string): Promise<Frame> {
    try {
      const have = await this.init.store.have(contentId)
      return have == null
        ? { type: FrameType.HaveResponse, id, status: Status.UnknownContent, bitfield: EMPTY }
        : { type: FrameType.HaveResponse, id, status: Status.Ok, bitfield: have.toBytes() }
    } catch (err: any) {
      this.init.log.error('reading what we hold of %s failed: %s', contentId, err?.message)
      return { type: FrameType.HaveResponse, id, status: Status.Busy, bitfield: EMPTY }
    }
  }

  /** Rejects only when the answer could not be written (the stream is gone): cancellation resolves. */
  private async answerChunk (out: FrameWriter, peer: string, semaphore: Semaphore, frame: ChunkRequest, signal: AbortSignal): Promise<void> {
    const { id, contentId, index } = frame
    const reply = async (status: Status, data: Uint8Array = EMPTY): Promise<boolean> =>
      await out.write({ type: FrameType.ChunkResponse, id, status, index, data }, signal)
    if (this.init.canUpload?.(peer, contentId) === false) {
      await reply(Status.Busy)
      return
    }

    let release: (() => void) | undefined
    try {
      // the permit is held until the chunk has left the stream's buffer
      release = await semaphore.acquire({ signal })
      const { status, data } = await this.prepare(frame, signal)
      if (signal.aborted) return
      // asked once the chunk is ready to go: a request cancelled while it waited took nothing
      if (status === Status.Ok && this.init.admit?.(peer, contentId, index, frame.isolated === true) === false) {
        await reply(Status.Elsewhere)
        return
      }
      if (await reply(status, data) && data != null) {
        this.init.onUpload?.({ peer, contentId, index, bytes: data.byteLength })
        this.init.log.trace('served chunk %d of %s to %s', index, contentId, peer)
      }
    } catch (err) {
      if (signal.aborted) return // cancelled by the client, or the stream ended
      throw err
    } finally {
      release?.()
    }
  }

  /** The chunk and the go-ahead of the upload limit; a store failure answers DONT_HAVE. */
  private async prepare ({ contentId, index }: ChunkRequest, signal: AbortSignal): Promise<{ status: Status, data?: Uint8Array }> {
    try {
      const data = await this.init.store.getChunk(contentId, index, { signal })
      if (data == null) {
        const known = await this.init.store.getManifest(contentId)
        return { status: known == null ? Status.UnknownContent : Status.DontHave }
      }
      await this.init.beforeUpload?.(data.byteLength, { signal })
      return { status: Status.Ok, data }
    } catch (err: any) {
      if (signal.aborted) throw err
      this.init.log.error('serving chunk %d of %s failed: %s', index, contentId, err?.message)
      return { status: Status.DontHave }
    }
  }
}
