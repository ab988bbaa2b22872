/**
 * At most one pass per `intervalMs` for each key, except the ones marked
 * final (the last chunk of a download is always shown). The clock is
 * injected so tests need not wait.
 */
export class Throttle {
  private readonly last = new Map<string, number>()

  constructor (private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  /** True when `key` may pass now; it then waits `intervalMs` for the next pass. */
  pass (key: string, final = false): boolean {
    const t = this.now()
    const previous = this.last.get(key)
    if (!final && previous != null && t - previous < this.intervalMs) return false
    this.last.set(key, t)
    return true
  }

  forget (key: string): void {
    this.last.delete(key)
  }
}
