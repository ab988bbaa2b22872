import type { Logger } from '@libp2p/interface'
import type { ChunkStore } from '../../store/types'
import { FrameType, Status, type Frame } from './codec'
import { MAX_HAVE_UPDATE_INDEXES } from './constants'
import type { FrameWriter } from './frame-writer'
import { PendingIndexes } from './pending-indexes'

const EMPTY = new Uint8Array(0)

export interface HaveSubscriptionsInit {
  store: ChunkStore
  /** The stream's writer: answers and updates go out in order, one at a time. */
  out: FrameWriter
  /** Hand over a write: if it fails, the stream's work ends. */
  track(write: Promise<unknown>): void
  log: Logger
  /** Subscriptions the stream may hold at once; past this, BUSY. */
  max: number
}

interface Subscription {
  contentId: string
  /** Aborted when the subscription ends: its writes not yet started are skipped. */
  readonly ended: AbortController
  stopListening?: () => void
  /** Chunks landed and not yet sent; from the HAVE_RESPONSE on. */
  pending?: PendingIndexes
  /** Chunks that landed while the bitfield for the HAVE_RESPONSE was read. */
  early?: Set<number>
  /** An update is queued on the writer and has not taken its indexes yet. */
  queued: boolean
}

/**
 * The HAVE subscriptions of one chunk stream (server side). HAVE_SUBSCRIBE
 * is answered like HAVE_REQUEST, with the bitfield read at the answer's
 * turn; from then on every chunk the store stores of that content is sent
 * in a HAVE_UPDATE under the subscription's id, until CANCEL or the end of
 * the stream. The store's listener is added before the bitfield is read,
 * so no chunk falls between the two (one may be in both: harmless).
 *
 * A subscriber that does not read costs bounded memory: each subscription
 * has at most one update queued on the writer, and what lands meanwhile is
 * coalesced into a set of one bit per chunk (PendingIndexes) that the
 * queued update takes when its turn comes, up to 1,024 indexes a frame.
 * Nothing is dropped, so the client never has to ask again.
 */
export class HaveSubscriptions {
  private readonly live = new Map<number, Subscription>()

  constructor (private readonly init: HaveSubscriptionsInit) {}

  get size (): number {
    return this.live.size
  }

  /** A HAVE_SUBSCRIBE frame: BUSY past the cap or for an id already subscribed. */
  subscribe (id: number, contentId: string): void {
    const { out, track, max } = this.init
    if (this.live.size >= max || this.live.has(id)) {
      track(out.write({ type: FrameType.HaveResponse, id, status: Status.Busy, bitfield: EMPTY }))
      return
    }
    const sub: Subscription = { contentId, ended: new AbortController(), queued: false }
    this.live.set(id, sub)
    track(out.write(async () => await this.answer(id, sub), sub.ended.signal))
  }

  /** CANCEL id: quiet when `id` is no subscription. */
  cancel (id: number): void {
    const sub = this.live.get(id)
    if (sub != null) this.end(id, sub)
  }

  /** The stream ended. */
  cancelAll (): void {
    for (const [id, sub] of [...this.live]) this.end(id, sub)
  }

  private end (id: number, sub: Subscription): void {
    if (this.live.get(id) === sub) this.live.delete(id)
    sub.ended.abort()
    sub.stopListening?.()
    sub.pending = undefined
    sub.early = undefined
  }

  /** The HAVE_RESPONSE, built at its turn; the subscription lives on only when it is OK. */
  private async answer (id: number, sub: Subscription): Promise<Frame> {
    const { store, log } = this.init
    sub.early = new Set()
    sub.stopListening = store.onChunk(sub.contentId, index => { this.landed(id, sub, index) })
    let status = Status.Ok
    let bitfield: Uint8Array = EMPTY
    try {
      const have = await store.have(sub.contentId)
      if (have == null) {
        status = Status.UnknownContent
      } else {
        bitfield = have.toBytes()
      }
      if (have != null && !sub.ended.signal.aborted) {
        sub.pending = new PendingIndexes(have.length)
        for (const index of sub.early ?? []) if (!have.has(index)) sub.pending.add(index)
        sub.early = undefined
        if (sub.pending.size > 0) this.queue(id, sub) // behind this answer: the writer keeps the order
      }
    } catch (err: any) {
      log.error('reading what we hold of %s failed: %s', sub.contentId, err?.message)
      status = Status.Busy
    }
    if (status !== Status.Ok) this.end(id, sub)
    return { type: FrameType.HaveResponse, id, status, bitfield }
  }

  private landed (id: number, sub: Subscription, index: number): void {
    if (sub.ended.signal.aborted) return
    if (sub.pending == null) {
      sub.early?.add(index)
      return
    }
    if (sub.pending.add(index)) this.queue(id, sub)
  }

  /** One update queued per subscription at most: it takes what is pending when its turn comes. */
  private queue (id: number, sub: Subscription): void {
    if (sub.queued) return
    sub.queued = true
    this.init.track(this.init.out.write(() => {
      sub.queued = false
      const pending = sub.pending
      if (pending == null) return undefined
      const indexes = pending.take(MAX_HAVE_UPDATE_INDEXES)
      if (pending.size > 0) this.queue(id, sub) // the rest in the next frame
      this.init.log.trace('pushing %d chunks of %s to subscription %d', indexes.length, sub.contentId, id)
      return indexes.length === 0 ? undefined : { type: FrameType.HaveUpdate, id, indexes }
    }, sub.ended.signal))
  }
}
