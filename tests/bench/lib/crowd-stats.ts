import type { PeerReport } from './crowd'
import { spread } from './stats'

/** What one phase of the flash-crowd suite (a crowd, or the same peers one after another) measured. */
export interface PhaseSummary {
  peers: number
  /** Relay /metrics deltas (libp2p + HTTP) / file size. */
  originRatio: number
  originLibp2pRatio: number
  originHttpRatio: number
  /** What the peers stored from the origin (verified, libp2p + HTTP) / file size. */
  originStoredRatio: number
  /** Each peer's bytes from other peers / file size. */
  shares: number[]
  /** First join → last peer complete, ms. */
  completionMs: number
  /** First join → last join, ms; and the largest delay of a join behind its schedule. */
  joinSpreadMs: number
  joinLateMs: number
  /** Each peer's join → complete, ms. */
  downloadMs: number[]
  /** How many times the origin sent each chunk that peers stored: copies → number of chunks. */
  copies: Map<number, number>
  /** Origin chunks by the origin policy's reason when they landed. */
  reasons: Map<string, number>
  /** Origin chunks a peer stored before its first direct connection to another peer. */
  originBeforePeer: number
  originChunks: number
  /** The peers that took the most from the origin: name, join offset (ms), share from the origin. */
  topOrigin: Array<{ name: string, joinMs: number, share: number }>
  /** Join → first tracker answer listing another peer, and → first direct connection to one, ms (peers that had one). */
  firstListedMs: number[]
  firstConnectedMs: number[]
  /** Peers whose first find listed nobody but the origin. */
  aloneAtFirstFind: number
  /** Finds a session made, in all. */
  finds: number
  dials: { attempts: number, direct: number, failed: number }
  /** Why dials failed: the commonest errors with their counts. */
  dialErrors: Array<[string, number]>
}

export function summarisePhase (reports: readonly PeerReport[], size: number, originBytes: { libp2p: number, http: number }): PhaseSummary {
  const first = Math.min(...reports.map(r => r.joinedAt))
  const copies = new Map<number, number>()
  const perChunk = new Map<number, number>()
  const reasons = new Map<string, number>()
  let originBeforePeer = 0
  let originChunks = 0
  for (const r of reports) {
    for (const [index, ms, reason] of r.originChunks) {
      perChunk.set(index, (perChunk.get(index) ?? 0) + 1)
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      originChunks++
      if (r.firstPeerConnectedMs == null || ms < r.firstPeerConnectedMs) originBeforePeer++
    }
  }
  for (const n of perChunk.values()) copies.set(n, (copies.get(n) ?? 0) + 1)
  const dialErrors = new Map<string, number>()
  for (const r of reports) for (const [e, n] of Object.entries(r.dialErrors)) dialErrors.set(e, (dialErrors.get(e) ?? 0) + n)
  const firstListed = reports.map(r => r.finds.find(([, peers]) => peers > 0)?.[0]).filter((x): x is number => x != null)
  return {
    peers: reports.length,
    originRatio: (originBytes.libp2p + originBytes.http) / size,
    originLibp2pRatio: originBytes.libp2p / size,
    originHttpRatio: originBytes.http / size,
    originStoredRatio: reports.reduce((n, r) => n + r.fromOriginLibp2p + r.fromHttp, 0) / size,
    shares: reports.map(r => r.fromPeers / size),
    completionMs: Math.max(...reports.map(r => r.doneAt)) - first,
    joinSpreadMs: Math.max(...reports.map(r => r.joinedAt)) - first,
    joinLateMs: Math.max(...reports.map(r => r.joinedAt - r.scheduledAt)),
    downloadMs: reports.map(r => r.doneAt - r.joinedAt),
    copies,
    reasons,
    originBeforePeer,
    originChunks,
    topOrigin: reports
      .map(r => ({ name: r.name, joinMs: r.joinedAt - first, share: (r.fromOriginLibp2p + r.fromHttp) / size }))
      .sort((a, b) => b.share - a.share)
      .slice(0, 4),
    firstListedMs: firstListed,
    firstConnectedMs: reports.map(r => r.firstPeerConnectedMs).filter((x): x is number => x != null),
    aloneAtFirstFind: reports.filter(r => (r.finds[0]?.[1] ?? 0) === 0).length,
    finds: reports.reduce((n, r) => n + r.finds.length, 0),
    dials: {
      attempts: reports.reduce((n, r) => n + r.dials.attempts, 0),
      direct: reports.reduce((n, r) => n + r.dials.direct, 0),
      failed: reports.reduce((n, r) => n + r.dials.failed + r.dials.relayed, 0)
    },
    dialErrors: [...dialErrors].sort(([, a], [, b]) => b - a).slice(0, 3)
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

function medianMax (ms: number[]): string {
  if (ms.length === 0) return 'none'
  const s = spread(ms)
  return `median ${sec(s.median)}, max ${sec(s.max)}`
}

/** Why the origin served what it served, in a sentence or four: the notes of a crowd row. */
export function describeCrowd (s: PhaseSummary, chunkCount: number): string {
  const copies = [...s.copies].sort(([a], [b]) => a - b)
  const never = chunkCount - copies.reduce((n, [, k]) => n + k, 0)
  const dup = copies.filter(([n]) => n > 1).reduce((n, [, k]) => n + k, 0)
  const reasons = [...s.reasons].sort(([, a], [, b]) => b - a).map(([r, n]) => `${r} ${pct(n / Math.max(1, s.originChunks))}`).join(', ')
  const shares = spread(s.shares)
  return [
    `origin sent ${s.originRatio.toFixed(2)}× (libp2p ${s.originLibp2pRatio.toFixed(2)}, HTTP ${s.originHttpRatio.toFixed(2)}), peers stored ${s.originStoredRatio.toFixed(2)}× from it`,
    `of the ${chunkCount} chunks, ${never} never came from the origin, ${copies.map(([n, k]) => `${k} came ${n}×`).join(', ')} (${dup} duplicated)`,
    `origin chunks by the policy's reason as they landed: ${reasons || 'none'}; ${pct(s.originBeforePeer / Math.max(1, s.originChunks))} of them before the peer's first direct connection to another peer`,
    `most from the origin: ${s.topOrigin.map(t => `${t.name} (joined +${sec(t.joinMs)}) ${pct(t.share)}`).join(', ')}`,
    `${s.aloneAtFirstFind}/${s.peers} peers' first tracker answer listed only the origin; first answer listing a peer ${medianMax(s.firstListedMs)} after joining; first direct connection to a peer ${medianMax(s.firstConnectedMs)}; ${s.finds} finds, ${s.dials.attempts} dials (${s.dials.failed} failed${s.dialErrors.length > 0 ? `: ${s.dialErrors.map(([e, n]) => `${n}× "${e}"`).join(', ')}` : ''})`,
    `share from peers median ${pct(shares.median)}, min ${pct(shares.min)}`,
    `joins spread over ${sec(s.joinSpreadMs)} (latest ${s.joinLateMs} ms behind schedule); download ${medianMax(s.downloadMs)}; first join → last complete ${sec(s.completionMs)}`
  ].join('; ')
}
