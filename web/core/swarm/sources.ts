import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChunkChannel } from '../protocols/chunk/channel'
import type { Bitfield } from './bitfield'
import type { SourceKind, SourceView } from './picker'

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
  pausedUntil = 0

  constructor (protected readonly slots: number, protected readonly now: () => number, forgetFailuresMs: number) {
    this.failed = new FailureMemory(forgetFailuresMs, now)
  }

  abstract has (index: number): boolean
  abstract usable (): boolean

  free (): number {
    if (!this.usable() || this.pausedUntil > this.now()) return 0
    return Math.max(0, this.slots - this.inFlight.size)
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
}

export class PeerSource extends SourceState {
  readonly id: string
  readonly kind: SourceKind
  channel?: ChunkChannel
  have?: Bitfield
  banned = false
  stalls = 0
  connecting = false
  polling = false
  lastPoll = 0

  constructor (readonly peerId: PeerId, public addrs: Multiaddr[], origin: boolean, slots: number, now: () => number, forgetFailuresMs: number) {
    super(slots, now, forgetFailuresMs)
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
