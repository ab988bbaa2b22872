/**
 * Which chunk to fetch next, and from where. Pure: it sees a snapshot of the
 * swarm and returns assignments; the session does the I/O.
 *
 * Order: chunks a reader is blocked on, then the critical window (from the
 * read position forward), in order; then the rest rarest-first among peers,
 * ties broken by distance ahead of the read position — except the chunks no
 * peer holds, which are walked from `spreadFrom`: a point each session draws
 * at random, so the peers of a crowd that arrive together ask the origin for
 * different chunks and then trade them, instead of all asking for the same
 * ones in the same order (BitTorrent's random first pieces; the origin then
 * sends each byte about once).
 *
 * Source for a chunk: a peer that holds it with a free slot (the one with the
 * most free slots). The origin — over libp2p first, then HTTP — when the
 * chunk is urgent (at risk, and no peer can take it now), or when
 * `originAllowed` and no peer that could give it holds it (and then only a
 * chunk of `originShare` when there is one, and over HTTP only what
 * `httpShare` allows: the origin's node says when another member just got
 * the chunk, HTTP cannot; alone, HTTP takes what a reader is blocked on
 * and what the node cannot serve at all, not what waits for one of its
 * slots). Both come from the origin
 * policy (origin-policy.ts). A busy peer, and for a player a resting one,
 * is otherwise worth waiting for: every byte the origin sends is a byte
 * the swarm did not carry. A source that failed a chunk is not asked for
 * it again (for a while).
 */

export type SourceKind = 'peer' | 'origin' | 'http'

export interface SourceView {
  id: string
  kind: SourceKind
  /** Whether the source holds chunk `index` (HTTP holds everything). */
  has(index: number): boolean
  /** Requests it can take now (0 when busy, stalled or banned). */
  free: number
  /** Resting after a stall or a busy answer. */
  resting?: boolean
  /** Chunks that already failed at this source. */
  failed?: { has(index: number): boolean }
}

export interface PickInput {
  chunkCount: number
  have(index: number): boolean
  inFlight: ReadonlySet<number>
  /** Chunk index of the read position (playhead, or where a reader waits). */
  position: number
  /** Number of chunks from `position` that are critical. */
  criticalWindow: number
  sources: readonly SourceView[]
  /** Chunks a reader is blocked on: asked for first. */
  blocked?: ReadonlySet<number>
  /** Chunks at risk: the origin may take them when no peer can now (asked for first too). */
  urgent: ReadonlySet<number>
  /** Whether the origin may serve chunks that are not urgent but that no usable peer holds. */
  originAllowed: boolean
  /** When set, only those of them in this session's share (share.ts): other downloaders take the rest. */
  originShare?: (index: number) => boolean
  /**
   * The chunks HTTP may take when the origin's node cannot take them now:
   * with a share, originShare when absent; alone (no share), every chunk
   * when absent, else these, those a reader is blocked on, and those no
   * origin node can serve now (none, resting, or it failed the chunk) — not
   * those it will serve once a slot frees.
   */
  httpShare?: (index: number) => boolean
  /**
   * A resting holder (it stalled or said busy) keeps the origin off its
   * chunks: a player's chunks at risk go to the origin anyway, so the rest
   * can wait for it. A download (false) lets the origin take them.
   */
  waitForResting?: boolean
  /** Where the walk over chunks no peer holds starts (outside the critical window); the read position when absent. */
  spreadFrom?: number
}

export interface Assignment {
  index: number
  source: string
}

export function pick (input: PickInput): Assignment[] {
  const free = new Map(input.sources.map(s => [s.id, s.free]))
  let totalFree = [...free.values()].reduce((a, b) => a + b, 0)
  if (totalFree === 0) return []

  const peers = input.sources.filter(s => s.kind === 'peer')
  const origins = input.sources.filter(s => s.kind === 'origin')
  const https = input.sources.filter(s => s.kind === 'http')
  const n = input.chunkCount
  const wanted = (i: number): boolean => !input.have(i) && !input.inFlight.has(i)

  const first = new Set([...(input.blocked ?? []), ...input.urgent])
  const critical: number[] = [...first].filter(wanted).sort((a, b) => a - b)
  const windowEnd = Math.min(n, input.position + input.criticalWindow)
  for (let i = Math.max(0, input.position); i < windowEnd; i++) if (wanted(i) && !first.has(i)) critical.push(i)

  // rarest first, ties by distance ahead of the read position: walk the
  // chunks in "ahead" order into buckets by rarity (a counting sort, O(n))
  const inWindow = (i: number): boolean => i >= input.position && i < windowEnd
  const buckets: number[][] = Array.from({ length: peers.length + 1 }, () => [])
  const clamp = (i: number): number => Math.min(Math.max(0, Math.floor(i)), Math.max(0, n - 1))
  const start = clamp(input.position)
  const unheld: number[] = []
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n
    if (!wanted(i) || inWindow(i) || first.has(i)) continue
    let rarity = 0
    for (const p of peers) if (p.has(i)) rarity++
    if (rarity > 0) (buckets[rarity] as number[]).push(i)
    else unheld.push(i)
  }
  // the chunks no peer holds, from spreadFrom on: rotate the ahead-ordered list there
  if (input.spreadFrom != null && unheld.length > 1) {
    const from = (clamp(input.spreadFrom) - start + n) % n
    const cut = unheld.findIndex(i => (i - start + n) % n >= from)
    if (cut > 0) unheld.push(...unheld.splice(0, cut))
  }
  buckets[0] = unheld
  const rest = buckets.flat()

  const usable = (s: SourceView, i: number): boolean => s.has(i) && !(s.failed?.has(i) ?? false)
  const hasFree = (s: SourceView): boolean => (free.get(s.id) ?? 0) > 0
  // HTTP cannot say "elsewhere", and is the origin's fallback, not a second channel beside its node:
  // urgent chunks; among other downloaders only what httpShare allows; alone, what httpShare allows
  // (the session's stand-in cases), what a reader is blocked on, or what no origin node can serve now
  // (none, resting after a stall, or it failed the chunk) — not a chunk the node will serve as soon
  // as one of its slots is free
  const httpMay = (i: number): boolean => {
    if (input.urgent.has(i)) return true
    if (input.originShare != null) return (input.httpShare ?? input.originShare)(i)
    if (input.httpShare == null || input.httpShare(i) || (input.blocked?.has(i) ?? false)) return true
    return !origins.some(o => usable(o, i) && o.resting !== true)
  }
  const out: Assignment[] = []
  const choose = (i: number): void => {
    let best: SourceView | undefined
    for (const p of peers) {
      if (usable(p, i) && hasFree(p) && (best == null || (free.get(p.id) ?? 0) > (free.get(best.id) ?? 0))) best = p
    }
    // the origin only when a reader waits for the chunk, or no peer can give it
    if (best == null && (input.urgent.has(i) || (input.originAllowed && (input.originShare?.(i) ?? true) && !peers.some(p => usable(p, i) && (p.resting !== true || input.waitForResting === true))))) {
      best = origins.find(o => usable(o, i) && hasFree(o))
      if (best == null && httpMay(i)) best = https.find(h => usable(h, i) && hasFree(h))
    }
    if (best == null) return
    free.set(best.id, (free.get(best.id) ?? 0) - 1)
    totalFree--
    out.push({ index: i, source: best.id })
  }

  for (const i of critical) {
    if (totalFree === 0) return out
    choose(i)
  }
  for (const index of rest) {
    if (totalFree === 0) return out
    choose(index)
  }
  return out
}
