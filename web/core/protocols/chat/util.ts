import { anySignal, type AbortOptions } from '../../util/abort'
import { ChatTimeoutError } from './errors'

/** 16 random bytes in hex: message and transfer ids. */
export function randomId (): string {
  return toHexString(crypto.getRandomValues(new Uint8Array(16)))
}

export function toHexString (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

/**
 * A signal that aborts (ChatTimeoutError) when `touch()` was not called for
 * `ms`, or when the caller's signal aborts. For transfers: no deadline for the
 * whole, but no silence longer than `ms`.
 */
export class IdleSignal {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (private readonly ms: number, options?: AbortOptions) {
    this.signal = anySignal(this.controller.signal, options?.signal)
    this.touch()
  }

  touch (): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.controller.abort(new ChatTimeoutError(`Nothing from the peer for ${this.ms / 1000} s`)) }, this.ms)
  }

  clear (): void {
    clearTimeout(this.timer)
  }
}

/** Remembers the last `limit` message ids per peer, so a retried message is delivered once. */
export class SeenIds {
  private readonly peers = new Map<string, Set<string>>()

  constructor (private readonly limit: number, private readonly maxPeers = 1024) {}

  /** True the first time `id` is seen from `peer`. */
  add (peer: string, id: string): boolean {
    let ids = this.peers.get(peer)
    if (ids?.has(id) === true) return false
    if (ids == null) {
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value as string)
      ids = new Set()
    }
    this.peers.delete(peer)
    this.peers.set(peer, ids) // most recent last
    ids.add(id)
    if (ids.size > this.limit) ids.delete(ids.values().next().value as string)
    return true
  }
}
