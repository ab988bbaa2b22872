import type { BenchContext, Row } from '../types'
import { crowdRows } from './relays-crowd'
import { lookupRows } from './relays-lookup'

export const name = 'relays'

/**
 * Issue 11's network of relays joined into one Kademlia DHT:
 * 1. how long a bridge on relay C waits for the DHT to name relay A as the
 *    holder of a video of A's library, against its own relay's tracker;
 * 2. the origin's bytes when 60 peers spread over three relays fetch a file
 *    only relay A holds, against the same peers all on relay A.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  return [...await lookupRows(ctx, name), ...await crowdRows(ctx, name)]
}
