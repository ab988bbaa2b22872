import type { ContentId } from '@core/content/manifest'
import type { SwarmSession } from '@core/swarm/session'
import type { TabPeer } from './tab-peer'

/** How a held chunk arrived: the chunk map's colours. */
export type ChunkOrigin = 'peer' | 'origin' | 'http' | 'cache'

export interface TabStats {
  profile: string
  peerId: string
  relay: { connected: boolean, addr: string }
  /** Peers this tab is connected to (the relay excluded). */
  peers: Array<{ id: string, direct: boolean, transport: string }>
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
  /** The content being watched, with its chunk map. */
  current?: ContentStats
  contents: ContentStats[]
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
  sources: ReturnType<SwarmSession['sources']>
}

const MAP_CHAR: Record<ChunkOrigin, string> = { peer: 'P', origin: 'O', http: 'H', cache: 'C' }

export function describeStats (peer: TabPeer, watched: ReadonlyMap<ContentId, { session: SwarmSession, origins: ChunkOrigin[] }>): TabStats {
  const s = peer.stats.snapshot()
  const relayId = peer.relayId()
  const contents: ContentStats[] = [...watched.entries()].map(([contentId, { session, origins }]) => {
    const inFlight = new Set(session.inFlightChunks())
    let map = ''
    for (let i = 0; i < session.have.length; i++) {
      map += session.have.has(i) ? MAP_CHAR[origins[i] ?? 'cache'] : inFlight.has(i) ? '~' : '.'
    }
    return {
      contentId,
      name: session.manifest.name,
      chunks: session.have.length,
      have: session.have.count(),
      complete: session.complete,
      map,
      sources: session.sources()
    }
  })
  return {
    profile: peer.profile.name,
    peerId: peer.node.peerId.toString(),
    relay: { connected: peer.relayConnected(), addr: peer.relay.toString() },
    peers: peer.node.getConnections()
      .filter(c => c.remotePeer.toString() !== relayId && c.status === 'open')
      .map(c => ({
        id: c.remotePeer.toString(),
        direct: c.limits == null,
        transport: c.remoteAddr.toString().includes('/webrtc') ? 'webrtc' : c.remoteAddr.toString().includes('/p2p-circuit') ? 'circuit' : c.remoteAddr.toString().includes('/ws') ? 'websockets' : 'other'
      })),
    bytesFromPeers: s.bytesFromPeers - s.bytesFromOriginPeer,
    bytesFromOrigin: s.bytesFromOriginPeer + s.bytesFromHttp,
    bytesFromHttp: s.bytesFromHttp,
    bytesUploaded: s.bytesUploaded,
    bytesDiscarded: s.bytesDiscarded,
    downloadRate: s.downloadRate,
    uploadRate: s.uploadRate,
    bySource: s.bySource,
    current: contents.find(c => c.contentId === peer.current),
    contents
  }
}
