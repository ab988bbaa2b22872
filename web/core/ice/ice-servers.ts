import type { Logger } from '@libp2p/interface'
import { signalWithTimeout, type AbortOptions } from '../util/abort'
import type { RelayIce } from './info'
import { iceExpiresAt, iceRefreshAt } from './refresh'

/** How long one ask of the relay may take before the last answer is used instead. */
const FETCH_TIMEOUT_MS = 5_000
/** After a failed ask, the next one waits this long (new connections meanwhile use what is known). */
const RETRY_AFTER_MS = 30_000

export interface RelayIceServersInit {
  /** Ask the relay for its servers (its `GET /info`). */
  fetch(options: AbortOptions): Promise<RelayIce>
  /** The peer's own servers (the bridge's `--ice-servers`): always used, before the relay's. */
  own?: RTCIceServer[]
  /** An answer already in hand (the tab reads `/info` at start), and when it arrived. */
  initial?: { ice: RelayIce, at: number }
  now?: () => number
  log?: Logger
}

interface Known {
  servers: RTCIceServer[]
  fetchedAt: number
  ttl: number | null
}

/**
 * The ICE servers a peer's WebRTC connections use: its own and the relay's,
 * whose TURN credentials expire. `rtcConfiguration()` is what libp2p's
 * webRTC transport calls for every new RTCPeerConnection; it asks the relay
 * again once half the credentials' life is gone (`iceRefreshAt`), so each
 * connection starts with valid ones. A relay that does not answer leaves
 * the last servers in use, minus credentials that expired.
 */
export class RelayIceServers {
  private known?: Known
  private pending?: Promise<void>
  private retryAt = 0
  private readonly now: () => number

  constructor (private readonly init: RelayIceServersInit) {
    this.now = init.now ?? Date.now
    if (init.initial != null) this.set(init.initial.ice, init.initial.at)
  }

  /** A fresh RTCConfiguration (libp2p fills in and keeps the object it gets). */
  async rtcConfiguration (): Promise<RTCConfiguration> {
    const now = this.now()
    if (now >= this.retryAt && (this.known == null || now >= iceRefreshAt(this.known.fetchedAt, this.known.ttl))) await this.refresh()
    return { iceServers: this.current() }
  }

  /** The servers to use now: the peer's own, then the relay's while their credentials last. */
  current (): RTCIceServer[] {
    const own = this.init.own ?? []
    const known = this.known
    const relay = known == null
      ? []
      : this.now() < iceExpiresAt(known.fetchedAt, known.ttl) ? known.servers : known.servers.filter(s => s.credential == null)
    return [...own, ...relay].map(s => ({ ...s, urls: Array.isArray(s.urls) ? [...s.urls] : s.urls }))
  }

  /** Ask the relay now (one ask at a time); on failure the last answer stays. */
  async refresh (options?: AbortOptions): Promise<void> {
    this.pending ??= (async () => {
      const askedAt = this.now()
      try {
        this.set(await this.init.fetch({ signal: signalWithTimeout(options, FETCH_TIMEOUT_MS) }), askedAt)
      } catch (err: any) {
        this.retryAt = this.now() + RETRY_AFTER_MS
        this.init.log?.('the relay did not give its ICE servers (%s): using the last ones', err?.message ?? err)
      } finally {
        this.pending = undefined
      }
    })()
    await this.pending
  }

  private set (ice: RelayIce, at: number): void {
    this.known = { servers: ice.iceServers, fetchedAt: at, ttl: ice.iceServersTtl }
    this.retryAt = 0
  }
}
