import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import type { Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import type { ContentId } from '../content/manifest'
import { fromHex } from '../util/hex'
import { anySignal, type AbortOptions } from '../util/abort'
import type { Announcement, ContentLocator, Provider } from './types'

/**
 * The DHT's protocol id: a private network, apart from IPFS's Amino DHT
 * (`/ipfs/kad/1.0.0`), so our relays never join it nor it ours.
 */
export const DHT_PROTOCOL = '/pipbingo/kad/1.0.0'

/** The multicodec of raw bytes and the multihash code of SHA-256. */
const RAW_CODEC = 0x55
const SHA2_256 = 0x12

/**
 * How long a provider record lives on the nodes that store it unless
 * renewed. Short next to IPFS's 48 h: a relay or a tab that left stops
 * being offered within this time (a dial to it fails fast meanwhile).
 */
export const DHT_PROVIDER_TTL_MS = 30 * 60_000
/** Our records are provided again this long before they expire, checked every RENEW_CHECK. */
const RENEW_BEFORE_MS = 10 * 60_000
const RENEW_CHECK_MS = 5 * 60_000

/** A find gives up after this long and answers with the providers found by then. */
export const DHT_FIND_TIMEOUT_MS = 8_000
/** A provide (a lookup of the closest nodes, then a record to each) gives up after this long. */
const PROVIDE_TIMEOUT_MS = 30_000
/** Providers a find collects before it stops asking. */
const MAX_PROVIDERS = 20
/** Contents provided at once. */
const PROVIDE_CONCURRENCY = 4

/** A relay's tracker protocol: a provider that speaks it is a relay (an origin: used last). */
const RELAY_PROTOCOL_PREFIX = '/pipbingo/tracker/'

export interface ContentDhtInit {
  /** Answer other nodes' queries and store their records: relays and bridges. Tabs are clients. */
  server: boolean
  /** The provider records' lifetime (tests make it short). */
  providerTtlMs?: number
}

/**
 * The libp2p service: `services: { dht: contentDht({ server: true }) }`.
 * Kademlia on our protocol id; every address is kept (the test networks
 * and many deployments are private or LAN addresses, which the default
 * mapper would drop); records live DHT_PROVIDER_TTL_MS.
 */
export function contentDht (init: ContentDhtInit): ReturnType<typeof kadDHT> {
  const ttl = init.providerTtlMs ?? DHT_PROVIDER_TTL_MS
  return kadDHT({
    protocol: DHT_PROTOCOL,
    clientMode: !init.server,
    peerInfoMapper: passthroughMapper,
    logPrefix: 'pipbingo:dht',
    providers: { provideValidity: Math.ceil(ttl / 1000), cleanupInterval: Math.max(1, Math.ceil(ttl / 4000)) },
    reprovide: {
      validity: ttl,
      threshold: Math.min(RENEW_BEFORE_MS, ttl / 3),
      interval: Math.min(RENEW_CHECK_MS, ttl / 6)
    }
  })
}

/**
 * Whether a long-lived node (a bridge) is a DHT server: it is one when others
 * can reach it, that is when it listens beyond loopback (`--host`). On loopback
 * (the default) it is a client like a tab: a server whose addresses lead
 * nowhere for anyone else would be handed out by the relays as a node to
 * ask, and dialled in vain (by tabs on this machine too, whenever the
 * bridge is stopped). It provides what it holds either way.
 */
export function dhtServer (host: string): boolean {
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host))
}

/** A content id (the SHA-256 of its manifest's hashes, in hex) as the CID the DHT keys it by: CIDv1, raw, sha2-256. */
export function contentCid (contentId: ContentId): CID {
  return CID.createV1(RAW_CODEC, createDigest(SHA2_256, fromHex(contentId)))
}

export interface DhtLocatorComponents {
  dht: KadDHT
  peerId: PeerId
  peerStore: PeerStore
  /** The node's own addresses (what the records it provides say). */
  addresses(): Multiaddr[]
  log: Logger
}

/**
 * ContentLocator over the Kademlia DHT: `announce` provides each content
 * once (the DHT renews its records itself; a content is provided again
 * when our addresses changed, so the records carry the ones to dial),
 * `findProviders` collects the providers a lookup finds within its time.
 * A DHT record says nothing of how much a peer holds: every provider is
 * partial (the HAVE it sends once connected says more), and a relay (it
 * speaks the tracker protocol) is an origin, used last.
 */
export class DhtLocator implements ContentLocator {
  /** Contents provided, with the addresses they were provided with. */
  private readonly provided = new Map<ContentId, string>()
  /** Contents being provided now (an announce that overlaps one in flight skips them). */
  private readonly providing = new Set<ContentId>()

  constructor (private readonly components: DhtLocatorComponents) {}

  async announce (entries: Announcement[], options?: AbortOptions): Promise<void> {
    const addrs = this.components.addresses().map(String).sort().join(' ')
    const todo = entries.map(e => e.contentId).filter(id => this.provided.get(id) !== addrs && !this.providing.has(id))
    const failures: string[] = []
    for (const id of todo) this.providing.add(id)
    for (let i = 0; i < todo.length; i += PROVIDE_CONCURRENCY) {
      await Promise.all(todo.slice(i, i + PROVIDE_CONCURRENCY).map(async contentId => {
        try {
          await this.provide(contentId, options)
          this.provided.set(contentId, addrs)
        } catch (err: any) {
          failures.push(`${contentId.slice(0, 12)}…: ${err?.message ?? err}`)
        } finally {
          this.providing.delete(contentId)
        }
      }))
    }
    if (failures.length > 0) throw new Error(`DHT provide failed for ${failures.length} of ${todo.length}: ${failures.slice(0, 3).join('; ')}`)
  }

  async withdraw (contentIds: ContentId[], options?: AbortOptions): Promise<void> {
    // the records others hold expire by themselves; ours are no longer renewed
    for (const contentId of contentIds) {
      this.provided.delete(contentId)
      await this.components.dht.cancelReprovide(contentCid(contentId), options)
    }
  }

  /**
   * The providers found before the lookup ends, MAX_PROVIDERS are found, or
   * the time runs out (DHT_FIND_TIMEOUT_MS, or the caller's signal): a
   * partial answer is an answer. Throws only when the lookup failed with
   * nothing found.
   */
  async findProviders (contentId: ContentId, options?: AbortOptions): Promise<Provider[]> {
    const self = this.components.peerId.toString()
    const found = new Map<string, Provider>()
    const stop = new AbortController()
    const signal = anySignal(options?.signal, stop.signal, AbortSignal.timeout(DHT_FIND_TIMEOUT_MS))
    try {
      for await (const event of this.components.dht.findProviders(contentCid(contentId), { signal })) {
        if (event.name !== 'PROVIDER') continue
        for (const info of event.providers) {
          const id = info.id.toString()
          if (id === self || found.has(id)) continue
          const multiaddrs = info.multiaddrs.map(ma => ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${id}`))
          found.set(id, { id: info.id, multiaddrs, complete: false, origin: await this.isRelay(info.id) })
        }
        if (found.size >= MAX_PROVIDERS) break
      }
    } catch (err: any) {
      if (found.size === 0 && !signal.aborted) throw err
      this.components.log('DHT lookup for %s ended early (%d providers): %s', contentId, found.size, err?.message)
    } finally {
      stop.abort()
    }
    return [...found.values()]
  }

  private async provide (contentId: ContentId, options?: AbortOptions): Promise<void> {
    const signal = anySignal(options?.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS))
    for await (const event of this.components.dht.provide(contentCid(contentId), { signal })) {
      if (event.name === 'QUERY_ERROR') this.components.log('provide %s: %p answered %s', contentId, event.from, event.error.message)
    }
  }

  private async isRelay (peer: PeerId): Promise<boolean> {
    try {
      const known = await this.components.peerStore.get(peer)
      return known.protocols.some(p => p.startsWith(RELAY_PROTOCOL_PREFIX))
    } catch {
      return false
    }
  }
}
