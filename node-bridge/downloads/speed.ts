/** The unit of every speed the bridge reports: 1 KB = 1024 bytes (the seed's "Ko/s"). */
export const KB = 1024

/** Shortest span a rate is computed over: one chunk right after the start is not infinitely fast. */
const MIN_SPAN_MS = 100

/**
 * A download's speed as a moving average: the bytes received over the last
 * `windowMs` (or since `start()`, when that is more recent) divided by that
 * span. The clock is injected so tests need not wait.
 */
export class SpeedMeter {
  private readonly samples: Array<{ t: number, bytes: number }> = []
  private startedAt: number
  private total = 0

  constructor (private readonly windowMs = 5000, private readonly now: () => number = Date.now) {
    this.startedAt = now()
  }

  /** Measure from now on (a download starts or resumes). */
  start (): void {
    this.startedAt = this.now()
    this.samples.length = 0
    this.total = 0
  }

  add (bytes: number): void {
    this.samples.push({ t: this.now(), bytes })
    this.total += bytes
    this.prune(this.now())
  }

  /** Bytes received since `start()`. */
  get bytes (): number {
    return this.total
  }

  /** KB/s over the window, two decimals. */
  kbps (): number {
    const now = this.now()
    this.prune(now)
    const since = Math.max(now - this.windowMs, this.startedAt)
    const span = Math.max(MIN_SPAN_MS, now - since)
    let bytes = 0
    for (const s of this.samples) bytes += s.bytes
    return round2(bytes / KB / (span / 1000))
  }

  /** KB/s from `start()` to `end` (the average of a finished download). */
  averageKbps (end = this.now()): number {
    return round2(this.total / KB / (Math.max(MIN_SPAN_MS, end - this.startedAt) / 1000))
  }

  private prune (now: number): void {
    while (this.samples.length > 0 && (this.samples[0] as { t: number }).t <= now - this.windowMs) this.samples.shift()
  }
}

export function round2 (n: number): number {
  return Math.round(n * 100) / 100
}
