/**
 * How many times a key (an address, a peer id) may act within a sliding
 * window. Pure and in memory: a restart forgets it (it guards against
 * floods, not against a patient publisher, whom the quotas below bound).
 */
export class SlidingWindowLimit {
  private readonly times = new Map<string, number[]>()

  constructor (readonly limit: number, readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** Milliseconds until `key` may act again; 0 when it may now. */
  wait (key: string): number {
    const recent = this.recent(key)
    if (recent.length < this.limit) return 0
    return Math.max(1, (recent[recent.length - this.limit] as number) + this.windowMs - this.now())
  }

  /** Count one action of `key` now. */
  record (key: string): void {
    const recent = this.recent(key)
    recent.push(this.now())
    this.times.set(key, recent)
    if (this.times.size > MAX_KEYS_BEFORE_PRUNE) this.prune()
  }

  /** Keys held (tests). */
  get size (): number {
    return this.times.size
  }

  private recent (key: string): number[] {
    const since = this.now() - this.windowMs
    const list = (this.times.get(key) ?? []).filter(t => t > since)
    if (list.length === 0) this.times.delete(key)
    return list
  }

  private prune (): void {
    const since = this.now() - this.windowMs
    for (const [key, list] of this.times) if ((list[list.length - 1] ?? 0) <= since) this.times.delete(key)
  }
}

const MAX_KEYS_BEFORE_PRUNE = 10_000

/** What `POST /publish` lets one address and one peer do. */
export interface PublishLimits {
  /** Requests one address may make a minute, whatever their outcome. */
  requestsPerMinutePerAddress: number
  /** Videos one address may get listed in 24 h. */
  publishesPerDayPerAddress: number
  /** Videos one peer may get listed in 24 h. */
  publishesPerDayPerPeer: number
}

export const DEFAULT_PUBLISH_LIMITS: PublishLimits = {
  requestsPerMinutePerAddress: 20,
  publishesPerDayPerAddress: 50,
  publishesPerDayPerPeer: 20
}
