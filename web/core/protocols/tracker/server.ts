import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Connection, Libp2pEvents, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { decodeMessage, encodeMessage, requestSchema, type TrackerRequest, type TrackerResponse } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_MEMBERS, MAX_MESSAGE_BYTES, PROTOCOL } from './constants'
import type { TrackerRegistry } from './registry'

export interface TrackerServerComponents {
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface TrackerServerInit {
  registry: TrackerRegistry
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
      response = this.answer(peer, request)
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

  private answer (peer: string, request: TrackerRequest): TrackerResponse {
    const registry = this.init.registry
    switch (request.type) {
      case 'announce': {
        const addrs = request.addrs.filter(isMultiaddr)
        const accepted = registry.announce(peer, addrs, request.entries)
        this.log.trace('%s announced %d/%d contents', peer, accepted, request.entries.length)
        return { ok: true, ttlMs: registry.ttlMs }
      }
      case 'withdraw':
        registry.withdraw(peer, request.contentIds)
        return { ok: true, ttlMs: registry.ttlMs }
      case 'find': {
        const providers = registry.find(request.contentId, { limit: request.limit, exclude: peer })
        if (request.members !== true) return { ok: true, providers }
        const members = registry.members(request.contentId, MAX_MEMBERS)
        return { ok: true, providers, members: members.ids, downloaders: members.count }
      }
    }
  }
}

function isMultiaddr (value: string): boolean {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

/** A libp2p service for the relay: `services: { tracker: trackerServer({ registry }) }`. */
export function trackerServer (init: TrackerServerInit): (components: TrackerServerComponents) => TrackerServer {
  return (components) => new TrackerServer(components, init)
}
