import { createSubscriber } from 'svelte/reactivity'
import type { TabPeer } from '../../peer/tab-peer'
import type { TabStats } from '../../peer/tab-stats'
import type { StoreUsage } from '../../peer/store/index'
import { RateHistory, type RateSample } from './history'

export type PeerStatus = 'starting' | 'ready' | 'origin-only'

/** How each content is held by this tab: the catalogue's badges. */
export type Holding = 'none' | 'part' | 'whole'

/**
 * The tab's peer as Svelte sees it: its status, its stats (a snapshot every
 * half second while some component shows them), the last minute of speeds,
 * and what its cache holds (re-read when the cache changes).
 */
export class PeerState {
  status = $state<PeerStatus>('starting')
  error = $state<string | undefined>(undefined)
  peer = $state.raw<TabPeer | undefined>(undefined)
  usage = $state.raw<StoreUsage | undefined>(undefined)
  /** The browser's quota for this site, and what the site uses of it (all profiles). */
  quota = $state.raw<{ usage: number, quota: number } | undefined>(undefined)
  readonly history = new RateHistory()
  #stats: TabStats | undefined
  #samples: RateSample[] = []
  #usageTimer?: ReturnType<typeof setTimeout>

  readonly #subscribe = createSubscriber(update => {
    const tick = (): void => {
      this.#stats = this.peer?.snapshot()
      this.#samples = [...this.history.samples]
      update()
    }
    tick()
    const timer = setInterval(tick, 500)
    return () => { clearInterval(timer) }
  })

  /** Live stats (undefined without a peer). */
  get stats (): TabStats | undefined {
    this.#subscribe()
    return this.#stats
  }

  /** The speed graph's samples, oldest first. */
  get samples (): RateSample[] {
    this.#subscribe()
    return this.#samples
  }

  attach (peer: TabPeer): void {
    this.peer = peer
    this.status = 'ready'
    setInterval(() => {
      const s = peer.stats.snapshot()
      this.history.add({ fromPeers: s.bytesFromPeers - s.bytesFromOriginPeer, fromOrigin: s.bytesFromOriginPeer + s.bytesFromHttp, uploaded: s.bytesUploaded }, performance.now())
    }, 1000)
    peer.addEventListener('cache', () => { this.refreshUsage(0) })
    peer.addEventListener('progress', () => { this.refreshUsage(1000) })
    this.refreshUsage(0)
  }

  fail (message: string): void {
    this.status = 'origin-only'
    this.error = message
  }

  holding (contentId: string, chunks: number): Holding {
    const c = this.usage?.contents.find(u => u.contentId === contentId)
    if (c == null || c.chunks === 0) return 'none'
    return c.complete || c.chunks >= chunks ? 'whole' : 'part'
  }

  /**
   * The relay's holder counts without this tab: it announces what it holds
   * (when P2P is on), so the relay counts it among the peers.
   */
  otherHolders (entry: { contentId: string, chunks: number, peers: number, seeders: number }): { peers: number, seeders: number } {
    const held = this.peer?.p2p === true ? this.holding(entry.contentId, entry.chunks) : 'none'
    return {
      peers: Math.max(0, entry.peers - (held === 'none' ? 0 : 1)),
      seeders: Math.max(0, entry.seeders - (held === 'whole' ? 1 : 0))
    }
  }

  /** Re-read the cache's usage, at most once per `delayMs`. */
  refreshUsage (delayMs: number): void {
    if (this.#usageTimer != null && delayMs > 0) return
    clearTimeout(this.#usageTimer)
    this.#usageTimer = setTimeout(() => {
      this.#usageTimer = undefined
      void this.readUsage()
    }, delayMs)
  }

  private async readUsage (): Promise<void> {
    const peer = this.peer
    if (peer == null) return
    try {
      this.usage = await peer.store.usage()
      const estimate = await navigator.storage?.estimate?.()
      if (estimate?.quota != null) this.quota = { usage: estimate.usage ?? 0, quota: estimate.quota }
    } catch {}
  }
}
