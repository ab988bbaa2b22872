import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { anySignal, delay, type AbortOptions } from '@core/util/abort'
import type { BridgeNode } from './node'

/** What the link to the relay is doing, for the console and `/stats`. */
export type RelayLinkEvent =
  | { type: 'connected', peer: string, addr: string }
  | { type: 'retrying', attempt: number, waitMs: number, error: string }
  | { type: 'disconnected', peer: string }

export interface RelayLinkInit {
  node: Pick<BridgeNode, 'dial' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
  /** Where the relay is: a configured multiaddr, or asked of its `/info` at each attempt. */
  resolve(options: AbortOptions): Promise<Multiaddr>
  /** Called on each (re)connection: point the tracker there, re-announce. */
  onConnected(addr: Multiaddr): void
  log: Logger
  minBackoffMs?: number
  maxBackoffMs?: number
  dialTimeoutMs?: number
}

/**
 * Keeps the bridge connected to the relay: dials it, retries with an
 * exponential backoff while it is down (reporting each retry), and dials
 * again when the connection drops. Events: `relay` (CustomEvent<RelayLinkEvent>).
 */
export class RelayLink extends EventTarget {
  addr?: Multiaddr
  peerId?: PeerId
  private readonly controller = new AbortController()
  private running?: Promise<void>
  private first?: Promise<void>

  constructor (private readonly init: RelayLinkInit) {
    super()
  }

  get connected (): boolean {
    return this.peerId != null && this.init.node.getConnections(this.peerId).some(c => c.status === 'open')
  }

  /** Start the loop; resolves after the first attempt, whether it connected or not. */
  async start (): Promise<void> {
    if (this.running == null) {
      let firstDone!: () => void
      this.first = new Promise(resolve => { firstDone = resolve })
      this.running = this.loop(firstDone)
    }
    await this.first
  }

  /** Resolves once connected (now, or at the next successful attempt). */
  async waitConnected (options?: AbortOptions): Promise<void> {
    if (this.connected) return
    await new Promise<void>((resolve, reject) => {
      const signal = anySignal(options?.signal, this.controller.signal)
      const done = (): void => { this.removeEventListener('relay', onEvent); signal.removeEventListener('abort', onAbort) }
      const onEvent = (e: Event): void => { if ((e as CustomEvent<RelayLinkEvent>).detail.type === 'connected') { done(); resolve() } }
      const onAbort = (): void => { done(); reject(signal.reason) }
      this.addEventListener('relay', onEvent)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.running
  }

  private emit (detail: RelayLinkEvent): void {
    this.dispatchEvent(new CustomEvent<RelayLinkEvent>('relay', { detail }))
  }

  private async loop (firstDone: () => void): Promise<void> {
    const { signal } = this.controller
    const min = this.init.minBackoffMs ?? 250
    const max = this.init.maxBackoffMs ?? 10_000
    let attempt = 0
    while (!signal.aborted) {
      try {
        const addr = await this.init.resolve({ signal })
        const connection = await this.init.node.dial(addr, { signal: anySignal(signal, AbortSignal.timeout(this.init.dialTimeoutMs ?? 10_000)) })
        this.addr = addr
        this.peerId = connection.remotePeer
        attempt = 0
        this.init.log('connected to the relay %p at %a', connection.remotePeer, addr)
        this.init.onConnected(addr)
        this.emit({ type: 'connected', peer: connection.remotePeer.toString(), addr: addr.toString() })
        firstDone()
        await this.untilDisconnected(connection.remotePeer)
        if (signal.aborted) return
        this.init.log('lost the relay: dialling again')
        this.emit({ type: 'disconnected', peer: connection.remotePeer.toString() })
      } catch (err: any) {
        if (signal.aborted) return
        const waitMs = Math.min(max, min * 2 ** attempt)
        attempt++
        const error: string = err?.message ?? String(err)
        this.init.log('relay unreachable (%s), attempt %d, retrying in %d ms', error, attempt, waitMs)
        this.emit({ type: 'retrying', attempt, waitMs, error })
        firstDone()
        await delay(waitMs, { signal }).catch(() => {})
      }
    }
    firstDone()
  }

  /** Resolves when no connection to `peer` is left (or the link stops). */
  private async untilDisconnected (peer: PeerId): Promise<void> {
    const { node } = this.init
    const { signal } = this.controller
    await new Promise<void>(resolve => {
      const check = (): void => {
        if (!signal.aborted && node.getConnections(peer).some(c => c.status === 'open')) return
        node.removeEventListener('peer:disconnect', onDisconnect)
        signal.removeEventListener('abort', check)
        resolve()
      }
      const onDisconnect = (e: CustomEvent<PeerId>): void => { if (e.detail.equals(peer)) check() }
      node.addEventListener('peer:disconnect', onDisconnect)
      signal.addEventListener('abort', check, { once: true })
      check()
    })
  }
}
