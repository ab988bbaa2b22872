import type { ComponentLogger, Connection, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChunkStore } from '../../store/types'
import { anySignal, type AbortOptions } from '../../util/abort'
import { ChunkChannel } from './channel'
import { DEFAULT_OPEN_TIMEOUT_MS, DEFAULT_PIPELINE_DEPTH, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, PROTOCOL } from './constants'
import { DialBackoff, MAX_ADDRS_PER_DIAL } from './dial-backoff'
import { AddressesBackingOffError, LimitedConnectionError, NoDirectConnectionError } from './errors'
import { ChunkServer, type UploadEvent } from './server'

export { PROTOCOL } from './constants'
export { ChunkChannel, type HaveSubscription, type HaveUpdateListener } from './channel'
export { ChunkServer, type UploadEvent } from './server'
export { SuperSeed, type SuperSeedInit, type SuperSeedDecision } from './super-seed'
export * from './errors'

export interface ChunkProtocolComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  transportManager: TransportManager
  logger: ComponentLogger
}

export interface ChunkProtocolInit {
  store: ChunkStore
  maxConcurrentUploadsPerPeer?: number
  requestTimeoutMs?: number
  pipelineDepth?: number
  /** HAVE subscriptions one stream may hold at once (16). */
  maxHaveSubscriptions?: number
  onUpload?(event: UploadEvent): void
  canUpload?(peer: string, contentId: string): boolean
  /** The origin's super-seeding (super-seed.ts): false answers ELSEWHERE. */
  admit?(peer: string, contentId: string, index: number, isolated: boolean): boolean
  beforeUpload?(bytes: number, options: { signal: AbortSignal }): Promise<void>
}

export interface OpenChannelOptions extends AbortOptions {
  /** Where to dial the peer when there is no direct connection yet (from the tracker). */
  addrs?: Multiaddr[]
  /** libp2p's progress events of the dial, when one is made (none when a direct connection exists). */
  onProgress?(event: { type: string }): void
  /** Use a direct connection that exists, never dial (the relay asking a peer connected to it what it holds). */
  existingOnly?: boolean
}

/** Serve chunks from a store, and open channels to ask other peers for theirs. */
export interface ChunkProtocol {
  channel(peer: PeerId, options?: OpenChannelOptions): Promise<ChunkChannel>
}

class ChunkProtocolService implements ChunkProtocol, Startable {
  private readonly log
  private readonly server: ChunkServer
  private readonly channels = new Map<string, Promise<ChunkChannel>>()
  /** Every address this node dials for chunks, whichever peer it is dialled for (dial-backoff.ts). */
  private readonly backoff = new DialBackoff()

  constructor (private readonly components: ChunkProtocolComponents, private readonly init: ChunkProtocolInit) {
    this.log = components.logger.forComponent('pipbingo:chunk')
    this.server = new ChunkServer({ ...init, log: this.log })
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL, (stream, connection) => this.server.handle(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
      // bulk data never crosses a relay: runOnLimitedConnection stays false
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL)
    for (const channel of this.channels.values()) void channel.then(c => c.close(), () => {})
    this.channels.clear()
  }

  async channel (peer: PeerId, options?: OpenChannelOptions): Promise<ChunkChannel> {
    const key = peer.toString()
    const existing = this.channels.get(key)
    if (existing != null) {
      const channel = await existing.catch(() => undefined)
      if (channel != null && !channel.closed) return channel
      if (this.channels.get(key) === existing) this.channels.delete(key)
      return await this.channel(peer, options)
    }
    const opening = this.open(peer, options)
    this.channels.set(key, opening)
    opening.then(channel => {
      channel.addEventListener('close', () => { if (this.channels.get(key) === opening) this.channels.delete(key) }, { once: true })
    }, () => { if (this.channels.get(key) === opening) this.channels.delete(key) })
    return await opening
  }

  private async open (peer: PeerId, options?: OpenChannelOptions): Promise<ChunkChannel> {
    const signal = anySignal(options?.signal, AbortSignal.timeout(DEFAULT_OPEN_TIMEOUT_MS))
    let connection: Connection | undefined = this.components.connectionManager.getConnections(peer)
      .find(c => c.status === 'open' && c.limits == null)
    if (connection == null) {
      if (options?.existingOnly === true) throw new NoDirectConnectionError()
      connection = await this.dial(peer, options?.addrs ?? [], signal, options?.onProgress)
    }
    const stream = await connection.newStream(PROTOCOL, { signal })
    this.log('opened chunk channel to %p over %a', peer, connection.remoteAddr)
    return new ChunkChannel(stream, { log: this.log, requestTimeoutMs: this.init.requestTimeoutMs, pipelineDepth: this.init.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH })
  }

  /**
   * A direct connection to `peer` through the addresses given (from the
   * tracker): at most MAX_ADDRS_PER_DIAL of them, the first this node can
   * dial, each only when DialBackoff lets it (not while another dial of it
   * is under way, not while it backs off after a failure), one after the
   * other. A circuit address through a relay this node is connected to
   * opens no new connection to anyone: it does not back off. Without
   * addresses, libp2p dials the peer by id (what its peer store knows).
   */
  private async dial (peer: PeerId, given: Multiaddr[], signal: AbortSignal, onProgress?: (event: { type: string }) => void): Promise<Connection> {
    const cm = this.components.connectionManager
    // no `force`: libp2p 3 never hands back a limited (relayed) connection for a dial, and without
    // it a dial of this peer already under way (the DHT pings the providers it finds) is joined and
    // a direct connection that opened meanwhile is used, instead of a second WebRTC connection
    if (given.length === 0) return await this.direct(peer, await cm.openConnection(peer, { signal, onProgress }))
    // each address as a dial of this peer: libp2p dials whoever an address's last /p2p names, and a
    // provider's circuit addresses may come without the peer's own (`<relay>/p2p-circuit/webrtc`)
    const own = given.map(a => addressOf(peer, a)).filter(a => a != null)
    // a plain circuit address only ever gives a limited (relayed) connection,
    // useless for chunks: dial the direct ones (TCP, WebSockets, WebRTC through the relay)
    const dialable = own.filter(a => this.components.transportManager.dialTransportForMultiaddr(a) != null)
    const direct = dialable.filter(a => !isPlainCircuit(a))
    const chosen = (direct.length > 0 ? direct : dialable).slice(0, MAX_ADDRS_PER_DIAL)
    const free = (a: Multiaddr): boolean => {
      const relay = circuitRelay(a)
      return relay != null && cm.getConnections().some(c => c.status === 'open' && c.remotePeer.toString() === relay)
    }
    const now = chosen.filter(a => free(a) || this.backoff.ready(a))
    if (now.length === 0) throw new AddressesBackingOffError(chosen.length === 0 ? 'No address of the peer can be dialled from here' : undefined)
    let last: Error | undefined
    for (const addr of now) {
      signal.throwIfAborted()
      const counted = !free(addr)
      if (counted) {
        // another dial (for another peer id) may have taken it meanwhile
        if (!this.backoff.ready(addr)) continue
        this.backoff.dialing(addr)
      }
      let connection: Connection
      try {
        connection = await cm.openConnection(addr, { signal, onProgress })
      } catch (err: any) {
        // the caller giving up says nothing about the address; its time running out does
        if (counted) {
          if (signal.aborted && signal.reason?.name !== 'TimeoutError') this.backoff.released(addr)
          else this.backoff.failed(addr)
        }
        last = err
        continue
      }
      if (counted) this.backoff.succeeded(addr)
      // never another peer's connection taken for this one's (a channel to it would ask the wrong peer)
      if (!connection.remotePeer.equals(peer)) {
        last = new Error(`${addr.toString()} led to ${connection.remotePeer.toString()}, not ${peer.toString()}`)
        continue
      }
      return await this.direct(peer, connection)
    }
    throw last ?? new AddressesBackingOffError()
  }

  /** The connection, if direct; else the direct one that may have come meanwhile (WebRTC upgrade), or LimitedConnectionError. */
  private async direct (peer: PeerId, connection: Connection): Promise<Connection> {
    if (connection.limits == null) return connection
    // a relayed connection is for signalling only; a direct one may still come (WebRTC upgrade)
    const direct = this.components.connectionManager.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
    if (direct == null) throw new LimitedConnectionError()
    return direct
  }
}

/**
 * `addr` as an address of `peer`: ending in `/p2p/<peer>`, added where the
 * address names no peer after its last circuit (a provider's
 * `<relay>/p2p-circuit/webrtc`, a bare `/ip4/…/tcp/…`); undefined when it
 * names another peer. Dialled as given, `<relay>/p2p-circuit/webrtc` is a
 * dial of the relay (libp2p takes the last /p2p as the peer), which the
 * connection manager answers with the open connection to the relay.
 */
export function addressOf (peer: PeerId, addr: Multiaddr): Multiaddr | undefined {
  const names = addr.getComponents().map(c => c.name)
  const named = names.lastIndexOf('p2p')
  if (named > names.lastIndexOf('p2p-circuit')) return addr.getComponents()[named]!.value === peer.toString() ? addr : undefined
  return addr.encapsulate(`/p2p/${peer.toString()}`)
}

/** The relay's peer id in a circuit address (`…/p2p/<relay>/p2p-circuit/…`), undefined for any other address. */
function circuitRelay (addr: Multiaddr): string | undefined {
  const components = addr.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  if (circuit < 0) return undefined
  return components.slice(0, circuit).findLast(c => c.name === 'p2p')?.value
}

/** `…/p2p-circuit/p2p/<peer>` with no `/webrtc` after the circuit: a relayed path, never a direct one. */
function isPlainCircuit (addr: Multiaddr): boolean {
  const names = addr.getComponents().map(c => c.name)
  const circuit = names.lastIndexOf('p2p-circuit')
  return circuit >= 0 && !names.slice(circuit).includes('webrtc')
}

/** A libp2p service: `services: { chunk: chunkProtocol({ store }) }`. */
export function chunkProtocol (init: ChunkProtocolInit): (components: ChunkProtocolComponents) => ChunkProtocol & Startable {
  return (components) => new ChunkProtocolService(components, init)
}
