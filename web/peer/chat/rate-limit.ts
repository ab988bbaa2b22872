/**
 * A token bucket per peer: `burst` exchanges at once, then `perSecond`.
 * What a tab lets one peer open on its chat (messages, files, key
 * negotiations, greetings): enough for a person typing fast or a few files,
 * not for a flood. Buckets of peers gone quiet are dropped.
 */
export class PeerRateLimit {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (private readonly burst = 30, private readonly perSecond = 5, private readonly now: () => number = () => Date.now()) {}

  admit (peer: string): boolean {
    const t = this.now()
    const b = this.buckets.get(peer) ?? { tokens: this.burst, at: t }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond)
    b.at = t
    this.buckets.set(peer, b)
    if (this.buckets.size > 1024) this.sweep(t)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Forget the peers whose buckets are full again. */
  private sweep (t: number): void {
    for (const [peer, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(peer)
    }
  }
}
