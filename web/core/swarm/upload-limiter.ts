import { delay, type AbortOptions } from '../util/abort'

/**
 * An upload limit as a token bucket: `take(bytes)` waits until the bytes may
 * be sent (a limit slows uploads down rather than refusing them); `allow()`
 * says whether uploads are on at all. Bursts up to one second's worth.
 * `Infinity` means no limit; 0 means no uploads.
 */
export class UploadLimiter {
  private tokens: number
  private last: number

  constructor (private bytesPerSecond = Infinity, private readonly now: () => number = Date.now) {
    this.tokens = bytesPerSecond
    this.last = now()
  }

  get limit (): number {
    return this.bytesPerSecond
  }

  setLimit (bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond
    this.tokens = Math.min(this.tokens, bytesPerSecond)
  }

  /** False when uploads are off (a limit of 0). */
  allow (): boolean {
    return this.bytesPerSecond > 0
  }

  /** Wait until `bytes` may go out, then take them (one chunk may run the bucket into debt). */
  async take (bytes: number, options?: AbortOptions): Promise<void> {
    while (this.bytesPerSecond !== Infinity) {
      this.refill()
      if (this.tokens > 0) {
        this.tokens -= bytes
        return
      }
      const rate = this.bytesPerSecond > 0 ? this.bytesPerSecond : 1
      await delay(Math.max(5, Math.ceil((-this.tokens / rate) * 1000) + 1), options)
    }
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((t - this.last) / 1000) * this.bytesPerSecond)
    this.last = t
  }
}
