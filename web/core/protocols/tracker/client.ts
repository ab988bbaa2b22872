import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { ContentId } from '../../content/manifest'
import type { Announcement, ContentLocator, Provider, SwarmView } from '../../routing/types'
import { anySignal, type AbortOptions } from '../../util/abort'
import { decodeMessage, encodeMessage, responseSchema, type TrackerRequest, type TrackerResponse } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_ADDRS_PER_PEER, MAX_ENTRIES_PER_ANNOUNCE, MAX_MESSAGE_BYTES, PROTOCOL } from './constants'
import { TrackerRequestError, TrackerUnreachableError } from './errors'

export interface TrackerClientComponents {
  connectionManager: ConnectionManager
  addressManager: AddressManager
  logger: ComponentLogger
}

export interface TrackerClientInit {
  /** The tracker (the relay): a multiaddr ending in /p2p/<relay peer id>, or several of one relay. */
  tracker: Multiaddr | Multiaddr[] | string
  timeoutMs?: number
}

const CLOSE_TIMEOUT_MS = 5_000

/** ContentLocator backed by the relay's tracker. */
export class TrackerClient implements ContentLocator {
  private readonly log
  private readonly tracker: Multiaddr | Multiaddr[]

  constructor (private readonly components: TrackerClientComponents, private readonly init: TrackerClientInit) {
    this.log = components.logger.forComponent('pipbingo:tracker-client')
    this.tracker = typeof init.tracker === 'string' ? multiaddr(init.tracker) : init.tracker
  }

  /** A client of another relay's tracker, at its addresses (each ending in /p2p/<its id>), on the same node. */
  at (tracker: Multiaddr[]): TrackerClient {
    return new TrackerClient(this.components, { ...this.init, tracker })
  }

  async announce (entries: Announcement[], options?: AbortOptions): Promise<void> {
    // the tracker learns where we are from our connection and identify; the addresses stay in the message for older relays
    const addrs = this.components.addressManager.getAddresses().slice(0, MAX_ADDRS_PER_PEER).map(a => a.toString())
    for (let i = 0; i < Math.max(entries.length, 1); i += MAX_ENTRIES_PER_ANNOUNCE) {
      await this.request({ type: 'announce', entries: entries.slice(i, i + MAX_ENTRIES_PER_ANNOUNCE), addrs }, options)
    }
  }

  async withdraw (contentIds: ContentId[], options?: AbortOptions): Promise<void> {
    for (let i = 0; i < contentIds.length; i += MAX_ENTRIES_PER_ANNOUNCE) {
      await this.request({ type: 'withdraw', contentIds: contentIds.slice(i, i + MAX_ENTRIES_PER_ANNOUNCE) }, options)
    }
  }

  async findProviders (contentId: ContentId, options?: AbortOptions): Promise<Provider[]> {
    return (await this.find(contentId, false, options)).providers
  }

  async findSwarm (contentId: ContentId, options?: AbortOptions): Promise<SwarmView> {
    return await this.find(contentId, true, options)
  }

  private async find (contentId: ContentId, members: boolean, options?: AbortOptions): Promise<SwarmView> {
    const response = await this.request(members ? { type: 'find', contentId, members } : { type: 'find', contentId }, options)
    if (!('providers' in response)) throw new TrackerRequestError('The tracker answered a find without providers')
    const providers: Provider[] = []
    for (const p of response.providers) {
      try {
        const id = peerIdFromString(p.peer)
        const multiaddrs = p.addrs.map(a => {
          const ma = multiaddr(a)
          return ma.getComponents().some(c => c.name === 'p2p' && c.value === p.peer) ? ma : ma.encapsulate(`/p2p/${p.peer}`)
        })
        providers.push({ id, multiaddrs, complete: p.complete, origin: p.origin })
      } catch (err: any) {
        this.log('skipping a malformed provider %s: %s', p.peer, err?.message)
      }
    }
    return { providers, members: response.members, downloaders: response.downloaders }
  }

  private async request (request: TrackerRequest, options?: AbortOptions): Promise<TrackerResponse> {
    const signal = anySignal(options?.signal, AbortSignal.timeout(this.init.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS))
    let response: TrackerResponse
    try {
      const connection = await this.components.connectionManager.openConnection(this.tracker, { signal })
      const stream = await connection.newStream(PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      await lp.write(encodeMessage(request), { signal })
      response = decodeMessage((await lp.read({ signal })).subarray(), responseSchema)
      // the answer is in: close in the background (a graceful close can wait on a busy connection)
      stream.close({ signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS) }).catch((err: Error) => { stream.abort(err) })
    } catch (err: any) {
      throw new TrackerUnreachableError(`Tracker request failed: ${err?.message ?? err}`)
    }
    if (!response.ok) throw new TrackerRequestError(response.error)
    return response
  }
}

/** A libp2p service for peers: `services: { tracker: trackerClient({ tracker: relayAddr }) }`. */
export function trackerClient (init: TrackerClientInit): (components: TrackerClientComponents) => TrackerClient {
  return (components) => new TrackerClient(components, init)
}
