import type { ContentId } from '@core/content/manifest'
import type { DialSummary } from '@core/swarm/dial-stats'
import type { OriginWhy, SwarmSession } from '@core/swarm/session'
import type { TabPeer } from './tab-peer'

/** How a held chunk arrived: the chunk map's colours. */
export type ChunkOrigin = 'peer' | 'origin' | 'http' | 'cache'

export interface TabStats {
  profile: string
  peerId: string
  relay: { connected: boolean, addr: string }
  /** False when P2P is off (origin only). */
  p2p: boolean
  /** Peers this tab is connected to (the relay excluded). */
  peers: PeerStats[]
  bytesFromPeers: number
  /** From the origin: its libp2p node and HTTP together. */
  bytesFromOrigin: number
  bytesFromHttp: number
  bytesUploaded: number
  bytesDiscarded: number
  /** Bytes per second over the last seconds. */
  downloadRate: number
  uploadRate: number
  bySource: Record<string, number>
  /** Attempts to reach peers directly (WebRTC upgrades): counts, median time, the last ones. */
  dials: DialSummary
  /** The content being watched, with its chunk map. */
  current?: ContentStats
  contents: ContentStats[]
}

/**
 * Why peers carry little or none of a content, for the overlay: P2P is off,
 * the locator has not answered, nobody else holds it, direct connections are
 * being made, only a relayed path exists (the upgrade failed, retrying), or
 * the connected peers are busy.
 */
export type LowShareReason = 'p2p-off' | 'finding' | 'no-holder' | 'connecting' | 'relayed' | 'busy'

export interface PeerStats {
  id: string
  /** The display name it announced (tabs), or what it is (`bridge`). */
  name?: string
  /** False over the relay (only signalling goes that way). */
  direct: boolean
  transport: 'webrtc' | 'circuit' | 'websockets' | 'other'
  /** Round-trip time measured by libp2p's connection monitor, ms. */
  rttMs?: number
  /** Verified chunk bytes from it, and bytes of chunks sent to it. */
  bytesIn: number
  bytesOut: number
}

export interface ContentStats {
  contentId: ContentId
  name: string
  chunks: number
  have: number
  complete: boolean
  /**
   * One character per chunk: `.` missing, `~` in flight, `P` from a peer,
   * `O` from the origin's libp2p node, `H` from the origin over HTTP,
   * `C` already in the cache.
   */
  map: string
  /** One character per chunk: `1` when this tab has sent it to another peer, else `0`. */
  seeded: string
  sources: ReturnType<SwarmSession['sources']>
  /** Why peers are not carrying it right now; absent when they are or it is complete. */
  why?: LowShareReason
  /** From the start of fetching to the first verified byte from another peer, ms. */
  timeToFirstPeerByteMs?: number
  /** Chunks from the origin by why they were asked of it: at-risk (playback waited), alone, share, idle. */
  originWhy: Partial<Record<OriginWhy, number>>
}

const MAP_CHAR: Record<ChunkOrigin, string> = { peer: 'P', origin: 'O', http: 'H', cache: 'C' }

export function describeStats (peer: TabPeer, watched: ReadonlyMap<ContentId, { session: SwarmSession, origins: ChunkOrigin[], originWhy: Partial<Record<OriginWhy, number>> }>): TabStats {
  const s = peer.stats.snapshot()
  const relayId = peer.relayId()
  const contents: ContentStats[] = [...watched.entries()].map(([contentId, { session, origins, originWhy }]) => {
    const inFlight = new Set(session.inFlightChunks())
    const sent = peer.book.seededChunks(contentId)
    let map = ''
    let seeded = ''
    for (let i = 0; i < session.have.length; i++) {
      map += session.have.has(i) ? MAP_CHAR[origins[i] ?? 'cache'] : inFlight.has(i) ? '~' : '.'
      seeded += sent.has(i) ? '1' : '0'
    }
    return {
      contentId,
      name: session.manifest.name,
      chunks: session.have.length,
      have: session.have.count(),
      complete: session.complete,
      map,
      seeded,
      sources: session.sources(),
      why: !peer.p2p && !session.complete ? 'p2p-off' : session.why(),
      timeToFirstPeerByteMs: session.timeToFirstPeerByteMs,
      originWhy: { ...originWhy }
    }
  })
  return {
    profile: peer.profile.name,
    peerId: peer.node.peerId.toString(),
    relay: { connected: peer.relayConnected(), addr: peer.relay.toString() },
    p2p: peer.p2p,
    peers: describePeers(peer, relayId, s.bySource),
    bytesFromPeers: s.bytesFromPeers - s.bytesFromOriginPeer,
    bytesFromOrigin: s.bytesFromOriginPeer + s.bytesFromHttp,
    bytesFromHttp: s.bytesFromHttp,
    bytesUploaded: s.bytesUploaded,
    bytesDiscarded: s.bytesDiscarded,
    downloadRate: s.downloadRate,
    uploadRate: s.uploadRate,
    bySource: s.bySource,
    dials: peer.dials.summary(),
    current: contents.find(c => c.contentId === peer.current),
    contents
  }
}

/** One row per peer, its best connection first: direct beats relayed. */
function describePeers (peer: TabPeer, relayId: string, bySource: Record<string, number>): PeerStats[] {
  const rows = new Map<string, PeerStats>()
  for (const c of peer.node.getConnections()) {
    const id = c.remotePeer.toString()
    if (id === relayId || c.status !== 'open') continue
    const addr = c.remoteAddr.toString()
    const row: PeerStats = {
      id,
      name: peer.book.nameOf(id),
      direct: c.limits == null,
      transport: addr.includes('/webrtc') ? 'webrtc' : addr.includes('/p2p-circuit') ? 'circuit' : addr.includes('/ws') ? 'websockets' : 'other',
      rttMs: c.rtt,
      bytesIn: bySource[id] ?? 0,
      bytesOut: peer.book.bytesSentTo(id)
    }
    const known = rows.get(id)
    if (known == null || (row.direct && !known.direct)) rows.set(id, row)
  }
  return [...rows.values()]
}
