import type { ComponentLogger, Connection, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChunkStore } from '../../store/types'
import { anySignal, type AbortOptions } from '../../util/abort'
import { ChunkChannel } from './channel'
import { DEFAULT_OPEN_TIMEOUT_MS, DEFAULT_PIPELINE_DEPTH, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, PROTOCOL } from './constants'
import { LimitedConnectionError } from './errors'
import { ChunkServer, type UploadEvent } from './server'

export { PROTOCOL } from './constants'
export { ChunkChannel, type HaveSubscription, type HaveUpdateListener } from './channel'
export { ChunkServer, type UploadEvent } from './server'
export { SuperSeed, type SuperSeedInit } from './super-seed'
export * from './errors'

export interface ChunkProtocolComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
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
  admit?(peer: string, contentId: string, index: number): boolean
  beforeUpload?(bytes: number, options: { signal: AbortSignal }): Promise<void>
}

export interface OpenChannelOptions extends AbortOptions {
  /** Where to dial the peer when there is no direct connection yet (from the tracker). */
  addrs?: Multiaddr[]
  /** libp2p's progress events of the dial, when one is made (none when a direct connection exists). */
  onProgress?(event: { type: string }): void
}

/** Serve chunks from a store, and open channels to ask other peers for theirs. */
export interface ChunkProtocol {
  channel(peer: PeerId, options?: OpenChannelOptions): Promise<ChunkChannel>
}

class ChunkProtocolService implements ChunkProtocol, Startable {
  private readonly log
  private readonly server: ChunkServer
  private readonly channels = new Map<string, Promise<ChunkChannel>>()

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
      // a plain circuit address only ever gives a limited (relayed) connection,
      // useless for chunks: dial the direct ones (TCP, WebSockets, WebRTC through the relay)
      const given = options?.addrs ?? []
      const direct = given.filter(a => !isPlainCircuit(a))
      const addrs = direct.length > 0 ? direct : given
      const target = addrs.length > 0 ? addrs : peer
      // a relayed connection may already exist (signalling); without `force`
      // the connection manager would hand it back instead of trying the
      // direct (WebRTC) dial again
      const relayedOnly = this.components.connectionManager.getConnections(peer).some(c => c.status === 'open' && c.limits != null)
      connection = await this.components.connectionManager.openConnection(target, { signal, force: relayedOnly && addrs.length > 0, onProgress: options?.onProgress })
      if (connection.limits != null) {
        // a relayed connection is for signalling only; a direct one may still come (WebRTC upgrade)
        const direct = this.components.connectionManager.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
        if (direct == null) throw new LimitedConnectionError()
        connection = direct
      }
    }
    const stream = await connection.newStream(PROTOCOL, { signal })
    this.log('opened chunk channel to %p over %a', peer, connection.remoteAddr)
    return new ChunkChannel(stream, { log: this.log, requestTimeoutMs: this.init.requestTimeoutMs, pipelineDepth: this.init.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH })
  }
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
