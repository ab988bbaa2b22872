import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChunkChannel, HaveSubscription } from '../protocols/chunk/channel'
import type { Bitfield } from './bitfield'
import type { SourceKind, SourceView } from './picker'
import { RateMeter } from './rate'

/** Requests in flight at a source before its speed is known. */
const START_SLOTS = 4
/** Keep about this much of a source's data in flight: enough to hide the round trip, little enough to re-plan on a seek. */
const IN_FLIGHT_SECONDS = 1

/** Chunks that failed at a source, each forgotten after a while so nothing is stuck for good. */
export class FailureMemory {
  private readonly until = new Map<number, number>()
  constructor (private readonly forgetMs: number, private readonly now: () => number) {}

  add (index: number): void {
    this.until.set(index, this.now() + this.forgetMs)
  }

  has (index: number): boolean {
    const t = this.until.get(index)
    if (t == null) return false
    if (t > this.now()) return true
    this.until.delete(index)
    return false
  }
}

export interface InFlight {
  controller: AbortController
  started: number
}

/** Session-side state of one source: what it holds, what is asked of it, how it behaved. */
export abstract class SourceState {
  abstract readonly id: string
  abstract readonly kind: SourceKind
  readonly inFlight = new Map<number, InFlight>()
  readonly failed: FailureMemory
  /** Verified bytes from this source, for sizing its pipeline. */
  readonly rate: RateMeter
  pausedUntil = 0

  constructor (protected readonly maxSlots: number, protected readonly now: () => number, forgetFailuresMs: number, protected readonly chunkSize = 256 * 1024) {
    this.failed = new FailureMemory(forgetFailuresMs, now)
    this.rate = new RateMeter(2000, 8, now)
  }

  /**
   * How many requests this source should have in flight: about one second of
   * its measured speed, between 1 and `maxSlots` (4 until it is measured).
   * A deep pipeline on a slow link would keep a seek waiting behind it.
   */
  slots (): number {
    const rate = this.rate.rate()
    if (rate === 0) return Math.min(this.maxSlots, START_SLOTS)
    return Math.max(1, Math.min(this.maxSlots, Math.ceil((rate * IN_FLIGHT_SECONDS) / this.chunkSize)))
  }

  abstract has (index: number): boolean
  abstract usable (): boolean

  free (): number {
    if (!this.usable() || this.pausedUntil > this.now()) return 0
    return Math.max(0, this.slots() - this.inFlight.size)
  }

  view (): SourceView {
    return { id: this.id, kind: this.kind, has: i => this.has(i), free: this.free(), resting: this.pausedUntil > this.now(), failed: this.failed }
  }

  /** Abort every request in flight (each counts as failed here). */
  abortAll (reason: Error): void {
    for (const [index, f] of this.inFlight) {
      this.failed.add(index)
      f.controller.abort(reason)
    }
  }

  /** Abort the requests `keep` rejects, without holding it against the source. */
  abortUnless (keep: (index: number) => boolean, reason: Error): void {
    for (const [index, f] of this.inFlight) if (!keep(index)) f.controller.abort(reason)
  }
}

export class PeerSource extends SourceState {
  readonly id: string
  readonly kind: SourceKind
  channel?: ChunkChannel
  /** What it holds: its answer to our HAVE subscription, plus every chunk it pushed since. */
  have?: Bitfield
  /** The peer pushes the chunks it stores to us while this lives (ended once it holds them all). */
  subscription?: HaveSubscription
  subscribing = false
  /** When to subscribe again after the peer refused (busy, did not know the content, no answer). */
  resubscribeAt = 0
  banned = false
  stalls = 0
  connecting = false
  /** Failed attempts to reach it directly in a row, and when to try again. */
  failures = 0
  retryAt = 0
  /** When the locator first listed it. */
  discoveredAt = 0
  /** The locator lists it as holding every chunk (a seeder). */
  complete = false

  constructor (readonly peerId: PeerId, public addrs: Multiaddr[], origin: boolean, slots: number, now: () => number, forgetFailuresMs: number, chunkSize?: number) {
    super(slots, now, forgetFailuresMs, chunkSize)
    this.id = peerId.toString()
    this.kind = origin ? 'origin' : 'peer'
  }

  has (index: number): boolean {
    return this.have?.has(index) ?? false
  }

  usable (): boolean {
    return !this.banned && this.channel != null && !this.channel.closed && this.have != null
  }
}

/**
 * For a content with no HTTP copy (a video of another relay): the origin's
 * node standing in where HTTP would (the picker sees an `http` source), its
 * requests flagged `isolated`, which the node sends even when it says the
 * chunk went to a member moments ago (super-seed.ts). It offers only the
 * chunks that just failed at the node (ELSEWHERE, mostly): never a second
 * set of slots on it. Usable while the origin's node is.
 */
export class OriginStandInState extends SourceState {
  readonly id = 'origin-stand-in'
  readonly kind: SourceKind = 'http'

  constructor (readonly origin: () => PeerSource | undefined, slots: number, now: () => number, forgetFailuresMs: number, chunkSize?: number) {
    super(slots, now, forgetFailuresMs, chunkSize)
  }

  has (index: number): boolean {
    const origin = this.origin()
    return origin != null && origin.has(index) && origin.failed.has(index)
  }

  usable (): boolean {
    return this.origin()?.usable() ?? false
  }
}

export class HttpSourceState extends SourceState {
  readonly id = 'http'
  readonly kind: SourceKind = 'http'

  has (): boolean {
    return true
  }

  usable (): boolean {
    return true
  }
}
