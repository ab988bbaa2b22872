import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { relayIceSchema, type RelayIce } from '@core/ice/info'
import { RelayUnreachableError } from './errors'

const infoSchema = z.object({ peerId: z.string(), multiaddrs: z.array(z.string()) })

export interface RelayInfo {
  /** The relay's WebSockets address. */
  relay: Multiaddr
  /** Its STUN/TURN servers (none when it sends something unusable: host candidates still work). */
  ice: RelayIce
}

/** The relay's WebSockets address and ICE servers, from its `GET /info`. */
export async function fetchRelayInfo (origin: string, options?: { signal?: AbortSignal }): Promise<RelayInfo> {
  let body: unknown
  let info: z.infer<typeof infoSchema>
  try {
    body = await getInfo(origin, options)
    info = infoSchema.parse(body)
  } catch (err: any) {
    throw new RelayUnreachableError(`The relay at ${origin} cannot be reached: ${err?.message ?? err}`)
  }
  const ws = info.multiaddrs.find(a => a.includes('/ws/') || a.includes('/wss/'))
  if (ws == null) throw new RelayUnreachableError('The relay offers no WebSockets address')
  const ice = relayIceSchema.safeParse(body)
  return { relay: multiaddr(ws), ice: ice.success ? ice.data : { iceServers: [], iceServersTtl: null } }
}

/** The relay's ICE servers again (fresh TURN credentials); throws when it does not answer them. */
export async function fetchRelayIce (origin: string, options?: { signal?: AbortSignal }): Promise<RelayIce> {
  return relayIceSchema.parse(await getInfo(origin, options))
}

async function getInfo (origin: string, options?: { signal?: AbortSignal }): Promise<unknown> {
  const response = await fetch(`${origin}/info`, { signal: options?.signal ?? AbortSignal.timeout(10_000), cache: 'no-store' })
  if (!response.ok) throw new Error(`/info answered ${response.status}`)
  return await response.json()
}
