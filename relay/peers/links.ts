import { KEEP_ALIVE, type Connection, type Libp2pEvents, type Logger, type PeerId, type PeerStore, type TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { anySignal, type AbortOptions } from '@core/util/abort'
import type { PeerRelay } from './addresses'
import { DEFAULT_REDIAL, redialDelayMs, type RedialPolicy } from './redial'

/** A peer relay's connection weighs this much when libp2p prunes connections (most others weigh nothing). */
export const PEER_RELAY_TAG = 'pipbingo-peer-relay'
const PEER_RELAY_TAG_VALUE = 100
const DIAL_TIMEOUT_MS = 20_000

export interface PeerRelayLinksInit {
  relays: readonly PeerRelay[]
  dial(addr: Multiaddr, options: AbortOptions): Promise<Connection>
  getConnections(peer: PeerId): Connection[]
  peerStore: Pick<PeerStore, 'merge'>
  events: TypedEventTarget<Libp2pEvents>
  redial?: RedialPolicy
  log: Logger
  /** What the operator should see: a peer relay unreachable or lost (once until it is up again: an `up` event). */
  onWarning?(message: string): void
}

export type LinkEvent =
  | { type: 'up', peer: PeerId }
  | { type: 'down', peer: PeerId }
  | { type: 'dial-failed', peer: PeerId, failures: number, error: Error }

interface Link {
  relay: PeerRelay
  key: string
  up: boolean
  dialing: boolean
  failures: number
  /** The operator was told it is unreachable, and not yet that it is back. */
  warned: boolean
  timer?: ReturnType<typeof setTimeout>
}

/**
 * The relay's links to its configured peer relays: each is dialled at start
 * and kept — tagged keep-alive (and weighty, so pruning spares it) in the
 * peer store — and dialled again whenever its last connection closes or a
 * dial fails, with a backoff (redial.ts) and for as long as the relay runs
 * (libp2p's own reconnect queue gives up after a few tries and never retries
 * a peer that was down at start). Unreachable or lost is said once, not per
 * attempt. A connection the other relay opened counts as the link too.
 */
export class PeerRelayLinks {
  private readonly links = new Map<string, Link>()
  private readonly listeners = new Set<(event: LinkEvent) => void>()
  private readonly redial: RedialPolicy
  private readonly abort = new AbortController()
  private started = false

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const link = this.links.get(evt.detail.toString())
    if (link == null || link.up) return
    clearTimeout(link.timer)
    link.timer = undefined
    link.up = true
    link.failures = 0
    link.warned = false
    this.init.log('connected to peer relay %s', link.key)
    this.tell({ type: 'up', peer: link.relay.id })
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const link = this.links.get(evt.detail.toString())
    if (link == null || !link.up) return
    link.up = false
    this.warn(link, `Lost the connection to peer relay ${link.key}: dialling it again in the background`)
    this.tell({ type: 'down', peer: link.relay.id })
    this.schedule(link)
  }

  constructor (private readonly init: PeerRelayLinksInit) {
    this.redial = init.redial ?? DEFAULT_REDIAL
    for (const relay of init.relays) {
      const key = relay.id.toString()
      if (!this.links.has(key)) this.links.set(key, { relay, key, up: false, dialing: false, failures: 0, warned: false })
    }
  }

  /** Dial every peer relay; keep them until stop(). */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.init.events.addEventListener('peer:connect', this.onConnect)
    this.init.events.addEventListener('peer:disconnect', this.onDisconnect)
    for (const link of this.links.values()) {
      await this.init.peerStore.merge(link.relay.id, {
        multiaddrs: [link.relay.addr],
        tags: { [KEEP_ALIVE]: { value: 1 }, [PEER_RELAY_TAG]: { value: PEER_RELAY_TAG_VALUE } }
      }).catch((err: Error) => { this.init.log.error('cannot tag peer relay %s: %s', link.key, err.message) })
      // already connected (it dialled us first): no dial, but it is up
      if (this.init.getConnections(link.relay.id).length > 0) this.onConnect(new CustomEvent('peer:connect', { detail: link.relay.id }))
      else void this.connect(link)
    }
  }

  stop (): void {
    this.started = false
    this.abort.abort()
    this.init.events.removeEventListener('peer:connect', this.onConnect)
    this.init.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const link of this.links.values()) clearTimeout(link.timer)
    this.listeners.clear()
  }

  /** Whether `peer` is one of the configured peer relays. */
  has (peer: PeerId | string): boolean {
    return this.links.has(peer.toString())
  }

  /** The configured peer relays' ids, in the order given. */
  peers (): PeerId[] {
    return [...this.links.values()].map(l => l.relay.id)
  }

  isUp (peer: PeerId | string): boolean {
    return this.links.get(peer.toString())?.up === true
  }

  /** An open connection to `peer` (unlimited: the catalogue protocol does not run over relayed ones). */
  connection (peer: PeerId): Connection | undefined {
    return this.init.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
  }

  /** Be told of links going up and down and of failed dials; returns the unsubscribe function. */
  on (listener: (event: LinkEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private async connect (link: Link): Promise<void> {
    if (!this.started || link.dialing || link.up) return
    link.dialing = true
    try {
      // the reconnect queue of libp2p drops the tag once it gives up: put it back
      await this.init.peerStore.merge(link.relay.id, { tags: { [KEEP_ALIVE]: { value: 1 }, [PEER_RELAY_TAG]: { value: PEER_RELAY_TAG_VALUE } } }).catch(() => {})
      await this.init.dial(link.relay.addr, { signal: anySignal(this.abort.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)) })
    } catch (err: any) {
      if (!this.started) return
      link.failures++
      this.warn(link, `Peer relay ${link.key} at ${link.relay.addr.toString()} cannot be reached (${err?.message ?? err}): dialling it again in the background`)
      this.init.log('dial %d to peer relay %s failed: %s', link.failures, link.key, err?.message)
      this.tell({ type: 'dial-failed', peer: link.relay.id, failures: link.failures, error: err })
      this.schedule(link)
    } finally {
      link.dialing = false
    }
  }

  private schedule (link: Link): void {
    if (!this.started) return
    clearTimeout(link.timer)
    link.timer = setTimeout(() => {
      link.timer = undefined
      void this.connect(link)
    }, redialDelayMs(link.failures, this.redial, Math.random()))
    link.timer.unref?.()
  }

  private warn (link: Link, message: string): void {
    if (link.warned) return
    link.warned = true
    this.init.onWarning?.(message)
  }

  private tell (event: LinkEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event)
      } catch (err) {
        this.init.log.error('a peer relay listener failed: %s', (err as Error).message)
      }
    }
  }
}
