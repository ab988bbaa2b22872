/**
 * When the origin (the relay's libp2p node, then its HTTP) may serve a
 * chunk. Pure: the session gives it a snapshot, a table-driven test pins it.
 *
 * Peers first, the origin last. Two kinds of chunk may go to the origin:
 *
 * - **at risk** (players only): the chunks the player is blocked on before
 *   playback starts, then the ones within `riskBytes` ahead of the playhead
 *   (the buffer is running low). They go to the origin only when no peer can
 *   take them now — and not before the start budget is spent while a holder
 *   is still being connected: a WebRTC upgrade takes 0.15–0.7 s on a quiet
 *   machine and up to ~4 s on a loaded one (measured, see ARCHITECTURE).
 * - **unheld**: chunks no connected peer holds. Not while a seeder (a holder
 *   of every chunk) is being connected: it will hold them. Among other
 *   downloaders (a crowd), only this session's **share** of them: each
 *   member of the swarm takes a different part of the content from the
 *   origin and the members trade the parts, so the origin sends each byte
 *   about once (the effect of BitTorrent's super-seeding, decided by the
 *   peers: see originShare in share.ts).
 */

export interface OriginPolicyInput {
  now: number
  /** When the session started fetching. */
  startedAt: number
  /** Whether the locator has answered once (we know who holds the content). */
  discovered: boolean
  /** Other peers with a direct channel and a known bitfield. */
  connected: number
  /** Other peers that hold the content and are being connected, or will be tried again soon. */
  pending: number
  /** Of those, the ones that hold all of it (seeders). */
  pendingSeeders: number
  /** Other downloaders the locator lists, reached or not (they take their shares of the origin). */
  members: number
  /** Latency matters (a player): chunks at risk may go to the origin. */
  player: boolean
  /** How long a player waits for a direct connection before the origin serves chunks at risk. */
  startBudgetMs: number
}

/** Why the origin may or may not serve now: also what a person is told. */
export type OriginReason =
  /** The locator has not answered yet. */
  | 'finding'
  /** Nobody else holds the content: the origin serves it. */
  | 'no-holder'
  /** Holders exist; direct connections to them are being made. */
  | 'connecting'
  /** Connected to holders: they serve, the origin fills in. */
  | 'peers'

export interface OriginDecision {
  /** The origin may take chunks at risk that no peer can take now. */
  atRisk: boolean
  /** The origin may take chunks that no connected peer holds. */
  unheld: boolean
  /** Only this session's share of those: other downloaders take the rest from the origin and trade it. */
  share: boolean
  reason: OriginReason
}

export function originPolicy (s: OriginPolicyInput): OriginDecision {
  const budgetSpent = s.now - s.startedAt >= s.startBudgetMs
  if (!s.discovered) return { atRisk: s.player && budgetSpent, unheld: false, share: false, reason: 'finding' }
  if (s.connected === 0 && s.pending === 0) {
    // nobody else at all: everything; other downloaders out of reach for now (dials are retried): its share, as they take theirs
    return s.members === 0
      ? { atRisk: s.player, unheld: true, share: false, reason: 'no-holder' }
      : { atRisk: s.player, unheld: true, share: true, reason: 'connecting' }
  }
  const reason = s.connected === 0 ? 'connecting' : 'peers'
  const atRisk = s.player && (s.connected > 0 || budgetSpent)
  // a seeder being connected will hold whatever the connected peers lack: wait for it
  if (s.pendingSeeders > 0) return { atRisk, unheld: false, share: false, reason }
  return { atRisk, unheld: true, share: true, reason }
}

export interface AtRiskInput {
  chunkCount: number
  have(index: number): boolean
  /** Chunks a reader waits for. */
  blocked: Iterable<number>
  /** Chunk index of the playhead; undefined until the player reports one (before playback starts). */
  playhead?: number
  /** Chunks ahead of the playhead that must be held for playback to be safe. */
  riskChunks: number
}

/**
 * The chunks whose deadline is at risk: before playback starts, what the
 * player is blocked on; once playing, the chunks missing within `riskChunks`
 * ahead of the playhead, and blocked reads near it (the playhead's byte
 * offset is an estimate, so a read a little behind it counts too).
 */
export function atRiskChunks (s: AtRiskInput): Set<number> {
  const out = new Set<number>()
  if (s.playhead == null) {
    for (const i of s.blocked) if (!s.have(i)) out.add(i)
    return out
  }
  const end = Math.min(s.chunkCount, s.playhead + s.riskChunks)
  for (let i = Math.max(0, s.playhead); i < end; i++) if (!s.have(i)) out.add(i)
  for (const i of s.blocked) if (i >= s.playhead - s.riskChunks && i < end && !s.have(i)) out.add(i)
  return out
}
