import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { ChunkStore } from '../../store/types'
import { Semaphore } from '../../util/semaphore'
import { encodeFrame, decodeFrame, FrameType, Status, type Frame } from './codec'
import { DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER, DEFAULT_MAX_QUEUED_REQUESTS } from './constants'

/** Requests are tiny: anything larger than this from a client is a violation. */
const MAX_REQUEST_FRAME_BYTES = 64

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
  /** Called after each chunk is handed to the stream. */
  onUpload?(event: UploadEvent): void
  /** Return false to refuse serving (e.g. P2P turned off); answers BUSY. */
  canUpload?(peer: string, contentId: string): boolean
  /** Awaited before each chunk is sent: an upload limit waits here. */
  beforeUpload?(bytes: number, options: { signal: AbortSignal }): Promise<void>
}

/**
 * Answers HAVE and CHUNK requests from the store. Only verified chunks are
 * in a store (ChunkStore.putChunk checks every hash), so only verified chunks
 * are served. At most `maxConcurrentUploadsPerPeer` chunks are read and sent
 * at once for one remote peer, across all its streams; more than
 * `maxQueuedRequests` waiting on one stream are answered BUSY.
 */
export class ChunkServer {
  private readonly slots = new Map<string, { semaphore: Semaphore, streams: number }>()
  private readonly maxUploads: number
  private readonly maxQueued: number

  constructor (private readonly init: ChunkServerInit) {
    this.maxUploads = init.maxConcurrentUploadsPerPeer ?? DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER
    this.maxQueued = init.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const slot = this.slotFor(peer)
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_REQUEST_FRAME_BYTES, maxBufferSize: MAX_REQUEST_FRAME_BYTES * 256 })
    const queued = new Map<number, AbortController>()
    const work = new Set<Promise<void>>()
    const track = (p: Promise<void>): void => {
      work.add(p)
      void p.finally(() => work.delete(p))
    }

    try {
      for await (const buf of stream) {
        for (const raw of decoder.decode(buf)) {
          const frame = decodeFrame(raw)
          switch (frame.type) {
            case FrameType.HaveRequest:
              track(this.answerHave(stream, frame.id, frame.contentId))
              break
            case FrameType.ChunkRequest: {
              if (queued.size >= this.maxQueued || queued.has(frame.id)) {
                track(send(stream, { type: FrameType.ChunkResponse, id: frame.id, status: Status.Busy, index: frame.index, data: new Uint8Array(0) }))
                break
              }
              const controller = new AbortController()
              queued.set(frame.id, controller)
              track(this.answerChunk(stream, peer, slot.semaphore, frame, controller.signal).finally(() => queued.delete(frame.id)))
              break
            }
            case FrameType.Cancel:
              queued.get(frame.id)?.abort()
              break
            default:
              throw new Error(`a client sent a ${FrameType[frame.type]} frame`)
          }
        }
      }
      await Promise.all(work)
      await stream.close({ signal: AbortSignal.timeout(5_000) }).catch((err: Error) => { stream.abort(err) })
    } catch (err: any) {
      this.init.log('closing chunk stream from %s: %s', peer, err?.message)
      for (const c of queued.values()) c.abort()
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
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

  private async answerHave (stream: Stream, id: number, contentId: string): Promise<void> {
    const have = await this.init.store.have(contentId)
    await send(stream, have == null
      ? { type: FrameType.HaveResponse, id, status: Status.UnknownContent, bitfield: new Uint8Array(0) }
      : { type: FrameType.HaveResponse, id, status: Status.Ok, bitfield: have.toBytes() })
  }

  private async answerChunk (stream: Stream, peer: string, semaphore: Semaphore, frame: Extract<Frame, { type: FrameType.ChunkRequest }>, signal: AbortSignal): Promise<void> {
    const { id, contentId, index } = frame
    const reply = async (status: Status, data: Uint8Array = new Uint8Array(0)): Promise<void> => {
      await send(stream, { type: FrameType.ChunkResponse, id, status, index, data })
    }
    if (this.init.canUpload?.(peer, contentId) === false) return reply(Status.Busy)
    let release: (() => void) | undefined
    try {
      release = await semaphore.acquire({ signal })
      const data = await this.init.store.getChunk(contentId, index, { signal })
      if (signal.aborted) return
      if (data == null) {
        const known = await this.init.store.getManifest(contentId)
        return reply(known == null ? Status.UnknownContent : Status.DontHave)
      }
      await this.init.beforeUpload?.(data.byteLength, { signal })
      await reply(Status.Ok, data)
      this.init.onUpload?.({ peer, contentId, index, bytes: data.byteLength })
      this.init.log.trace('served chunk %d of %s to %s', index, contentId, peer)
    } catch (err: any) {
      if (signal.aborted) return // cancelled by the client
      this.init.log.error('serving chunk %d of %s failed: %s', index, contentId, err?.message)
      await reply(Status.DontHave).catch(() => {})
    } finally {
      release?.()
    }
  }
}

/** Send one frame, waiting for the stream to drain when its buffer is full. */
export async function send (stream: Stream, frame: Frame, options?: { signal?: AbortSignal }): Promise<void> {
  if (stream.writeStatus !== 'writable') return
  if (!stream.send(encodeFrame(frame))) await stream.onDrain(options)
}
