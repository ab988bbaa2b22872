import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, PeerStore, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { ContentId } from '../../content/manifest'
import { peerAddresses } from './addresses'
import { decodeMessage, encodeMessage, requestSchema, type ProviderRecord, type TrackerRequest, type TrackerResponse } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_MEMBERS, MAX_MESSAGE_BYTES, PROTOCOL } from './constants'
import type { TrackerRegistry } from './registry'

export interface TrackerServerComponents {
  peerId: PeerId
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  connectionManager: ConnectionManager
  peerStore: PeerStore
  addressManager: AddressManager
}

export interface TrackerServerInit {
  registry: TrackerRegistry
  /**
   * Told what a peer announced over the network (the entries the registry
   * took), so that the owner can ask it whether it holds them (the relay:
   * holders.ts) and `registry.check()` the answer.
   */
  onAnnounce?(peer: PeerId, entries: Array<{ contentId: ContentId, complete: boolean }>): void
  /** Whether a peer holds a circuit-relay reservation on this node: only then does a find give it circuit addresses through it. */
  reserved?(peer: PeerId): boolean
}

/** The relay's tracker: serves /pipbingo/tracker/1.0.0 from a TrackerRegistry. */
export class TrackerServer implements Startable {
  private readonly log
  private readonly onDisconnect = (evt: CustomEvent): void => {
    this.init.registry.removePeer(evt.detail.toString())
  }

  constructor (private readonly components: TrackerServerComponents, private readonly init: TrackerServerInit) {
    this.log = components.logger.forComponent('pipbingo:tracker')
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: 8 })
    // a peer that leaves takes its announcements with it
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.components.registrar.unhandle(PROTOCOL)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS)
    let response: TrackerResponse
    try {
      const request = decodeMessage((await lp.read({ signal })).subarray(), requestSchema)
      response = await this.answer(connection.remotePeer, request)
    } catch (err: any) {
      this.log('bad tracker request from %s: %s', peer, err?.message)
      response = { ok: false, error: String(err?.message ?? err).slice(0, 1000) }
    }
    try {
      await lp.write(encodeMessage(response), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      stream.abort(err)
    }
  }

  private async answer (remote: PeerId, request: TrackerRequest): Promise<TrackerResponse> {
    const registry = this.init.registry
    const peer = remote.toString()
    switch (request.type) {
      case 'announce': {
        // the peer announces for itself only (the stream's authenticated peer), and where it is is
        // never taken from what it says here: a find computes it (addresses.ts), so `addrs` is ignored
        const accepted = registry.announce(peer, [], request.entries, { unchecked: true })
        this.log.trace('%s announced %d/%d contents', peer, accepted, request.entries.length)
        if (accepted > 0) this.init.onAnnounce?.(remote, request.entries.filter(e => registry.checkOf(peer, e.contentId) != null))
        return { ok: true, ttlMs: registry.ttlMs }
      }
      case 'withdraw':
        registry.withdraw(peer, request.contentIds)
        return { ok: true, ttlMs: registry.ttlMs }
      case 'find': {
        const providers = await this.providers(request.contentId, { limit: request.limit, exclude: peer })
        if (request.members !== true) return { ok: true, providers }
        const members = registry.members(request.contentId, MAX_MEMBERS)
        return { ok: true, providers, members: members.ids, downloaders: members.count }
      }
    }
  }

  /** The providers a find for `contentId` answers, with the addresses given to the asker. */
  async providers (contentId: ContentId, options: { limit?: number, exclude?: string } = {}): Promise<ProviderRecord[]> {
    return await Promise.all(this.init.registry.find(contentId, options).map(async p => await this.withAddresses(p)))
  }

  /** A provider with the addresses this node knows it by (addresses.ts); its own entries (the library) keep theirs. */
  private async withAddresses (p: ProviderRecord): Promise<ProviderRecord> {
    if (p.peer === this.components.peerId.toString()) return p
    let id: PeerId
    try {
      id = peerIdFromString(p.peer)
    } catch {
      return { ...p, addrs: [] } // an entry made locally under a name that is no peer id (tests)
    }
    const addrs = await peerAddresses(id, {
      connections: this.components.connectionManager.getConnections(id),
      known: async () => (await this.components.peerStore.get(id)).addresses.map(a => a.multiaddr),
      own: this.components.addressManager.getAddresses(),
      reserved: this.init.reserved?.(id) ?? false
    })
    return { ...p, addrs: addrs.map(String) }
  }
}


/** A libp2p service for the relay: `services: { tracker: trackerServer({ registry }) }`. */
export function trackerServer (init: TrackerServerInit): (components: TrackerServerComponents) => TrackerServer {
  return (components) => new TrackerServer(components, init)
}
