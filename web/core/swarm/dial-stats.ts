/**
 * Every attempt to reach a peer directly (a WebRTC upgrade between tabs, a
 * TCP or WebSockets dial for a bridge): when it started, the steps it went
 * through, how it ended and how long it took. Counted per node, shown on the
 * Network page and in the stats, so a failed upgrade is never silent.
 */

/** How an attempt ended: a direct connection, only the relayed one (the upgrade failed), or nothing. */
export type DialOutcome = 'direct' | 'relayed' | 'failed'

export interface DialRecord {
  peer: string
  /** Epoch ms. */
  startedAt: number
  ms: number
  outcome: DialOutcome
  /** The error's name and message when it did not end direct. */
  error?: string
  /** libp2p's progress events (`webrtc:send-sdp-offer`, …) with their time since the start, in ms. */
  steps: Array<[string, number]>
}

export interface DialSummary {
  attempts: number
  direct: number
  relayed: number
  failed: number
  /** Median duration of the attempts that ended direct, in ms (0 before the first). */
  medianDirectMs: number
  /** The last attempts, newest last. */
  recent: DialRecord[]
}

const KEEP_RECENT = 20
const KEEP_DURATIONS = 100

export class DialStats {
  attempts = 0
  direct = 0
  relayed = 0
  failed = 0
  private readonly durations: number[] = []
  private readonly recent: DialRecord[] = []

  record (r: DialRecord): void {
    this.attempts++
    this[r.outcome]++
    if (r.outcome === 'direct') {
      this.durations.push(r.ms)
      if (this.durations.length > KEEP_DURATIONS) this.durations.shift()
    }
    this.recent.push(r)
    if (this.recent.length > KEEP_RECENT) this.recent.shift()
  }

  summary (): DialSummary {
    const sorted = [...this.durations].sort((a, b) => a - b)
    const medianDirectMs = sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)] as number
    return { attempts: this.attempts, direct: this.direct, relayed: this.relayed, failed: this.failed, medianDirectMs, recent: [...this.recent] }
  }
}
