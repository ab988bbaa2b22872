/**
 * The origin's side of "each byte enters the swarm once" (BitTorrent's
 * super-seeding, in spirit): a chunk the origin sent moments ago to another
 * member of the swarm is not sent again; the requester is answered
 * ELSEWHERE and gets it from that member, to whom the chunk's arrival is
 * pushed as a HAVE_UPDATE. The members' shares (swarm/share.ts) keep them
 * from asking for the same chunks in the first place; this holds when their
 * views of the swarm differ (a crowd arriving, the tracker's lists capped).
 *
 * Never a dead end: a chunk is held back only while the member it went to
 * is still in the swarm (`present`: listed by the tracker for the content)
 * and for `recentMs` at most, and only from requesters that are in the
 * swarm themselves (a client that does not announce cannot trade). A
 * player's session takes what its playback waits for over HTTP when the
 * origin says ELSEWHERE (picker.ts), and so does a session that has had no
 * peer to trade with for a while (session.ts): the origin cannot tell who
 * reaches whom, the requester can. A content with no HTTP copy (a video of
 * another relay) asks the origin's node instead, its request flagged
 * `isolated`, which is sent whatever was sent before.
 */

/**
 * Why a chunk was sent or held back: `first` (not sent before, or not
 * since `recentMs`), `same` (again to the member it went to), `unlisted`
 * (it went to another, but that one or the requester is not in the swarm
 * the tracker knows: nothing held back), `isolated` (it would be held back,
 * but the requester says it reaches no holder), `held` (ELSEWHERE).
 */
export type SuperSeedDecision = 'first' | 'same' | 'unlisted' | 'isolated' | 'held'

export interface SuperSeedInit {
  /** Whether `peer` is still in the swarm of `contentId` (the tracker lists it). */
  present(contentId: string, peer: string): boolean
  /** Each decision, for the relay's metrics (`pipbingo_super_seed_decisions_total`). */
  onDecision?(decision: SuperSeedDecision): void
  /** How long a chunk sent to a member is held back from others (5 min). */
  recentMs?: number
  now?: () => number
}

/**
 * Longer than a crowd takes to connect and trade on a loaded machine (the
 * flash-crowd bench on 2 cores: 30 peers, 8 s gave 1.58× the file from the
 * origin, 20 s 1.29×; 100 peers take 2–3 min there, and 20 s let the origin
 * send each chunk 4–6 times, 2 min twice). A recipient that leaves the
 * swarm ends the wait sooner; a requester that reaches no peer turns to
 * HTTP (session.ts).
 */
export const DEFAULT_SUPER_SEED_RECENT_MS = 300_000
/** How often what expired is forgotten: at 100 MB/s the origin sends about 400 chunks a second. */
const SWEEP_MS = 30_000

export class SuperSeed {
  private readonly sent = new Map<string, Map<number, { peer: string, at: number }>>()
  private readonly recentMs: number
  private readonly now: () => number
  private lastSweep = 0

  constructor (private readonly init: SuperSeedInit) {
    this.recentMs = init.recentMs ?? DEFAULT_SUPER_SEED_RECENT_MS
    this.now = init.now ?? Date.now
  }

  /**
   * Whether to send chunk `index` of `contentId` to `peer` now; a yes
   * counts as sent (two requests in flight for one chunk get one yes).
   * `isolated` (the request's flag: the requester tried and reaches no
   * holder) is a yes: a requester could as well not announce, and be
   * `unlisted`; this one stays in the swarm, and others may get it from it.
   */
  admit (peer: string, contentId: string, index: number, isolated = false): boolean {
    const now = this.now()
    this.sweep(now)
    let chunks = this.sent.get(contentId)
    const last = chunks?.get(index)
    const decision: SuperSeedDecision = last == null || now - last.at >= this.recentMs
      ? 'first'
      : last.peer === peer
        ? 'same'
        : !(this.init.present(contentId, last.peer) && this.init.present(contentId, peer)) ? 'unlisted' : isolated ? 'isolated' : 'held'
    this.init.onDecision?.(decision)
    if (decision === 'held') return false
    if (chunks == null) {
      chunks = new Map()
      this.sent.set(contentId, chunks)
    }
    chunks.set(index, { peer, at: now })
    return true
  }

  /** Chunks sent at least `recentMs` ago hold nothing back: forget them (at most every 30 s, or `recentMs` if shorter). */
  private sweep (now: number): void {
    if (now - this.lastSweep < Math.min(this.recentMs, SWEEP_MS)) return
    this.lastSweep = now
    for (const [contentId, chunks] of this.sent) {
      for (const [index, { at }] of chunks) if (now - at >= this.recentMs) chunks.delete(index)
      if (chunks.size === 0) this.sent.delete(contentId)
    }
  }
}
