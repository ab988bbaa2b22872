import type { Multiaddr } from '@multiformats/multiaddr'

/** Addresses of one peer a node ever dials for chunks: the first ones it can dial, in the order given. */
export const MAX_ADDRS_PER_DIAL = 4
/** A failed address waits 2 s, then 4, 8, then 10 s (the swarm's own retry cap for a peer), before it is dialled again. */
export const BACKOFF_BASE_MS = 2_000
export const BACKOFF_MAX_MS = 10_000
/** Addresses remembered at most; past it the least recently used is forgotten. */
export const MAX_BACKOFF_ENTRIES = 1024

interface Entry {
  failures: number
  /** Not dialled before this (ms since epoch). */
  until: number
  /** A dial to it is under way: nobody else dials it meanwhile. */
  dialing: boolean
}

/**
 * The addresses a node dials for chunks, per address rather than per peer:
 * many peer ids can name one address (a tracker that lists peers where they
 * say they are, identities that cost nothing), and it is the host behind
 * the address that each dial reaches. An address being dialled is not
 * dialled again until that dial ends; one that failed waits, doubling each
 * time (BACKOFF_BASE_MS to BACKOFF_MAX_MS), until it succeeds again. The
 * key is the address up to its first `/p2p/` (the host and port dialled,
 * whoever is claimed to be there); a circuit address's key is its relay's
 * address. At most MAX_BACKOFF_ENTRIES are kept, the least recently used
 * dropped first.
 */
export class DialBackoff {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly now: () => number = Date.now, private readonly maxEntries = MAX_BACKOFF_ENTRIES) {}

  /** Whether the address may be dialled now. */
  ready (addr: Multiaddr): boolean {
    const e = this.entries.get(keyOf(addr))
    return e == null || (!e.dialing && e.until <= this.now())
  }

  /** A dial to the address starts: nobody else dials it until `succeeded` or `failed`. */
  dialing (addr: Multiaddr): void {
    this.touch(keyOf(addr)).dialing = true
  }

  succeeded (addr: Multiaddr): void {
    this.entries.delete(keyOf(addr))
  }

  failed (addr: Multiaddr): void {
    const e = this.touch(keyOf(addr))
    e.dialing = false
    e.failures++
    e.until = this.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (e.failures - 1))
  }

  /** The dial ended without saying anything about the address (aborted by the caller). */
  released (addr: Multiaddr): void {
    const key = keyOf(addr)
    const e = this.entries.get(key)
    if (e == null) return
    e.dialing = false
    if (e.failures === 0) this.entries.delete(key)
  }

  get size (): number {
    return this.entries.size
  }

  /** The entry for `key`, made the most recently used (created if new, evicting the oldest past the cap). */
  private touch (key: string): Entry {
    const e = this.entries.get(key) ?? { failures: 0, until: 0, dialing: false }
    this.entries.delete(key)
    this.entries.set(key, e)
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
    return e
  }
}

/** The address up to its first /p2p/ component: the transport address a dial reaches. */
export function keyOf (addr: Multiaddr): string {
  const out: string[] = []
  for (const c of addr.getComponents()) {
    if (c.name === 'p2p') break
    out.push(c.value == null ? `/${c.name}` : `/${c.name}/${c.value}`)
  }
  return out.join('')
}
