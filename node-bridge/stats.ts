import type { TransferStats } from '@core/swarm/stats'
import type { FsChunkStore } from './store/index'
import type { DownloadManager } from './downloads/manager'
import { KB, round2 } from './downloads/speed'

/**
 * `GET /stats`: the seed's five integers, then extras. Byte counts are since
 * the daemon started; speeds are KB/s (1 KB = 1024 B) over the last 4 s.
 */
export interface BridgeStats {
  peer_id: string
  /** Open libp2p connections to distinct peers (the relay included). */
  connected_peers: number
  seeding_files: number
  downloading_files: number
  /** Complete files in the cache. */
  cache_files: number
  // extras
  queued_files: number
  relay_connected: boolean
  /** The relay's multiaddr, once known. */
  relay: string | null
  /** Verified bytes from other peers (browsers, bridges). */
  bytes_from_peers: number
  /** Verified bytes from the origin: its libp2p node and its HTTP fallback. */
  bytes_from_origin: number
  /** Of which over HTTP. */
  bytes_from_http: number
  bytes_uploaded: number
  download_speed: number
  upload_speed: number
  listen_addrs: string[]
  /** Chunks of complete files found damaged in the cache since start: not served, fetched again. */
  damaged_chunks: number
}

export interface StatsSources {
  peerId: string
  connectedPeers(): number
  relay(): { connected: boolean, addr: string | null }
  listenAddrs(): string[]
  transfer: TransferStats
  manager: Pick<DownloadManager, 'count'>
  store: Pick<FsChunkStore, 'listContents' | 'isComplete'>
  damagedChunks?: () => number
}

export async function describeStats (s: StatsSources): Promise<BridgeStats> {
  const t = s.transfer.snapshot()
  const contents = await s.store.listContents()
  const relay = s.relay()
  return {
    peer_id: s.peerId,
    connected_peers: s.connectedPeers(),
    seeding_files: s.manager.count('seeding'),
    downloading_files: s.manager.count('downloading'),
    cache_files: contents.filter(id => s.store.isComplete(id)).length,
    queued_files: s.manager.count('queued'),
    relay_connected: relay.connected,
    relay: relay.addr,
    bytes_from_peers: t.bytesFromPeers - t.bytesFromOriginPeer,
    bytes_from_origin: t.bytesFromOriginPeer + t.bytesFromHttp,
    bytes_from_http: t.bytesFromHttp,
    bytes_uploaded: t.bytesUploaded,
    download_speed: round2(t.downloadRate / KB),
    upload_speed: round2(t.uploadRate / KB),
    listen_addrs: s.listenAddrs(),
    damaged_chunks: s.damagedChunks?.() ?? 0
  }
}
