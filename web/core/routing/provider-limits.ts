import { MemoryDatastore } from 'datastore-core'
import type { Key } from 'interface-datastore'
import type { AbortOptions } from '../util/abort'

/** Provider records a DHT server keeps in all (about 150 bytes each: 30 MB). */
export const MAX_PROVIDER_RECORDS = 200_000
/** Provider records one peer may have a DHT server keep (a bridge or a tab holds far fewer contents). */
export const MAX_RECORDS_PER_PROVIDER = 2_000

/** Where kad-dht keeps provider records: `/dht/provider/<cid>/<peer id>` (its datastorePrefix, `/dht`, then `/provider`). */
const PROVIDER_PREFIX = '/dht/provider/'

export interface ProviderRecordLimits {
  /** Records kept in all. */
  total: number
  /** Records of one peer. */
  perPeer: number
}

export class ProviderRecordLimitError extends Error {
  override name = 'ProviderRecordLimitError'
}

/**
 * The in-memory datastore of a DHT server (a relay, a reachable bridge)
 * with a bound on provider records. kad-dht stores every ADD_PROVIDER a
 * peer sends for itself, for any key, with no limit: one peer announcing
 * random CIDs would grow the relay's memory until it stops. Here a peer
 * may have MAX_RECORDS_PER_PROVIDER records kept, and all of them
 * MAX_PROVIDER_RECORDS; past either, the put fails (kad-dht answers the
 * peer with an error and keeps nothing). This node's own records are not
 * counted (a relay provides its whole library).
 */
export class BoundedDhtDatastore extends MemoryDatastore {
  private readonly perPeer = new Map<string, number>()
  private total = 0

  constructor (private readonly self: string, private readonly limits: ProviderRecordLimits = { total: MAX_PROVIDER_RECORDS, perPeer: MAX_RECORDS_PER_PROVIDER }) {
    super()
  }

  /** Provider records kept now (this node's own left out). */
  get providerRecords (): number {
    return this.total
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    const peer = providerOf(key)
    if (peer != null && peer !== this.self && !(await super.has(key))) {
      const count = this.perPeer.get(peer) ?? 0
      if (count >= this.limits.perPeer) throw new ProviderRecordLimitError(`Peer ${peer} has ${count} provider records here, the most one peer may have`)
      if (this.total >= this.limits.total) throw new ProviderRecordLimitError(`${this.total} provider records are kept here, the most this node keeps`)
      this.perPeer.set(peer, count + 1)
      this.total++
    }
    return await super.put(key, val, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const peer = providerOf(key)
    if (peer != null && peer !== this.self && await super.has(key)) {
      const count = (this.perPeer.get(peer) ?? 1) - 1
      if (count > 0) this.perPeer.set(peer, count)
      else this.perPeer.delete(peer)
      this.total--
    }
    await super.delete(key, options)
  }
}

/** The peer id of a provider record's key, undefined for any other key. */
function providerOf (key: Key): string | undefined {
  const text = key.toString()
  if (!text.startsWith(PROVIDER_PREFIX)) return undefined
  const peer = text.slice(text.lastIndexOf('/') + 1)
  return text.slice(PROVIDER_PREFIX.length).includes('/') ? peer : undefined
}
