import { RateMeter } from './rate'

export interface TransferSnapshot {
  /** Verified bytes received from peers (the origin over libp2p included). */
  bytesFromPeers: number
  /** Of which from the origin's libp2p node. */
  bytesFromOriginPeer: number
  /** Verified bytes received over HTTP from the origin. */
  bytesFromHttp: number
  /** Bytes sent to other peers. */
  bytesUploaded: number
  /** Bytes received and thrown away (failed verification). */
  bytesDiscarded: number
  /** Bytes per second, over the last few seconds. */
  downloadRate: number
  uploadRate: number
  /** Verified bytes received per source (peer id, or 'http'). */
  bySource: Record<string, number>
}

/**
 * Byte accounting of a node or of one content: feeds /stats, /status,
 * /metrics and the browser overlay. A child forwards everything to its
 * parent, so a session counts for itself and for the node.
 */
export class TransferStats {
  bytesFromPeers = 0
  bytesFromOriginPeer = 0
  bytesFromHttp = 0
  bytesUploaded = 0
  bytesDiscarded = 0
  private readonly down: RateMeter
  private readonly up: RateMeter
  private readonly bySource = new Map<string, number>()

  constructor (private readonly parent?: TransferStats, now: () => number = Date.now) {
    this.down = new RateMeter(4000, 16, now)
    this.up = new RateMeter(4000, 16, now)
  }

  received (source: { id: string, kind: 'peer' | 'origin' | 'http' }, bytes: number): void {
    if (source.kind === 'http') this.bytesFromHttp += bytes
    else this.bytesFromPeers += bytes
    if (source.kind === 'origin') this.bytesFromOriginPeer += bytes
    this.bySource.set(source.id, (this.bySource.get(source.id) ?? 0) + bytes)
    this.down.add(bytes)
    this.parent?.received(source, bytes)
  }

  uploaded (bytes: number): void {
    this.bytesUploaded += bytes
    this.up.add(bytes)
    this.parent?.uploaded(bytes)
  }

  discarded (bytes: number): void {
    this.bytesDiscarded += bytes
    this.parent?.discarded(bytes)
  }

  snapshot (): TransferSnapshot {
    return {
      bytesFromPeers: this.bytesFromPeers,
      bytesFromOriginPeer: this.bytesFromOriginPeer,
      bytesFromHttp: this.bytesFromHttp,
      bytesUploaded: this.bytesUploaded,
      bytesDiscarded: this.bytesDiscarded,
      downloadRate: this.down.rate(),
      uploadRate: this.up.rate(),
      bySource: Object.fromEntries(this.bySource)
    }
  }
}
