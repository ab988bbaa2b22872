/** One sample per second: bytes per second down from peers, down from the origin, up. */
export interface RateSample { peers: number, origin: number, up: number }

export interface Totals { fromPeers: number, fromOrigin: number, uploaded: number }

/** The last `size` seconds of transfer rates, from successive byte totals (the speed graph). */
export class RateHistory {
  readonly samples: RateSample[] = []
  private last?: { at: number, totals: Totals }

  constructor (readonly size = 60) {}

  add (totals: Totals, at: number): void {
    if (this.last != null) {
      const seconds = Math.max(0.001, (at - this.last.at) / 1000)
      const rate = (now: number, before: number): number => Math.max(0, (now - before) / seconds)
      this.samples.push({
        peers: rate(totals.fromPeers, this.last.totals.fromPeers),
        origin: rate(totals.fromOrigin, this.last.totals.fromOrigin),
        up: rate(totals.uploaded, this.last.totals.uploaded)
      })
      if (this.samples.length > this.size) this.samples.shift()
    }
    this.last = { at, totals }
  }
}
