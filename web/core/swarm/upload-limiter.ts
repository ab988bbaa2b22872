/**
 * An upload limit as a token bucket: `allow()` says whether another chunk may
 * be served now, `spent(bytes)` takes its bytes. Bursts up to one second's
 * worth. `Infinity` means no limit; 0 means no uploads at all.
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

  allow (): boolean {
    if (this.bytesPerSecond === Infinity) return true
    if (this.bytesPerSecond <= 0) return false
    this.refill()
    return this.tokens > 0
  }

  spent (bytes: number): void {
    if (this.bytesPerSecond === Infinity) return
    this.refill()
    this.tokens -= bytes
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((t - this.last) / 1000) * this.bytesPerSecond)
    this.last = t
  }
}
