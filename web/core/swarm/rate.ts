/**
 * Bytes per second over a sliding window, in fixed buckets. The clock is
 * injected so the arithmetic can be tested without waiting.
 */
export class RateMeter {
  private readonly buckets: Float64Array
  private readonly bucketMs: number
  private head = 0
  private headTime: number
  private first?: number

  constructor (private readonly windowMs = 4000, buckets = 16, private readonly now: () => number = Date.now) {
    this.buckets = new Float64Array(buckets)
    this.bucketMs = windowMs / buckets
    this.headTime = Math.floor(now() / this.bucketMs)
  }

  add (bytes: number): void {
    this.first ??= this.now()
    this.advance()
    this.buckets[this.head] = (this.buckets[this.head] as number) + bytes
  }

  /**
   * Bytes per second over the window — or over the time since the first
   * bytes, when that is shorter (at least one bucket), so a fresh meter is
   * not read as slow.
   */
  rate (): number {
    this.advance()
    if (this.first == null) return 0
    let sum = 0
    for (const b of this.buckets) sum += b
    const observed = Math.max(this.bucketMs, Math.min(this.windowMs, this.now() - this.first))
    return sum / (observed / 1000)
  }

  private advance (): void {
    const t = Math.floor(this.now() / this.bucketMs)
    const steps = Math.min(t - this.headTime, this.buckets.length)
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length
      this.buckets[this.head] = 0
    }
    this.headTime = t
  }
}
