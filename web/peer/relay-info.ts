import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { relayIceSchema, type RelayIce } from '@core/ice/info'
import { RelayUnreachableError } from './errors'

const infoSchema = z.object({ peerId: z.string(), multiaddrs: z.array(z.string()) })

/**
 * The relay's WebSockets address a page served with `pageProtocol` can
 * open. A secure page (`https:`) cannot open `ws://` (mixed content): it
 * takes a `/tls/ws` or `/wss` address, and none is an error that says so.
 * A plain `http:` page takes a `/ws` one, else a secure one. Circuit and
 * unparsable addresses are skipped.
 */
export function pickRelayAddr (multiaddrs: string[], pageProtocol: string): Multiaddr {
  const secure: Multiaddr[] = []
  const plain: Multiaddr[] = []
  for (const text of multiaddrs) {
    let ma: Multiaddr
    try {
      ma = multiaddr(text)
    } catch {
      continue
    }
    const names = ma.getComponents().map(c => c.name)
    if (names.includes('p2p-circuit')) continue
    if (names.includes('wss') || (names.includes('tls') && names.includes('ws'))) secure.push(ma)
    else if (names.includes('ws')) plain.push(ma)
  }
  const picked = pageProtocol === 'https:' ? secure[0] : plain[0] ?? secure[0]
  if (picked != null) return picked
  if (pageProtocol === 'https:' && plain.length > 0) {
    throw new RelayUnreachableError('The relay offers no secure WebSockets address (/tls/ws), and a page served over https cannot open ws://: start the relay with --tls-cert and --tls-key, or --public-url https://… behind a TLS proxy')
  }
  throw new RelayUnreachableError('The relay offers no WebSockets address')
}

export interface RelayInfo {
  /** The relay's WebSockets address this page can open (pickRelayAddr). */
  relay: Multiaddr
  /** Its STUN/TURN servers (none when it sends something unusable: host candidates still work). */
  ice: RelayIce
}

/**
 * The relay's WebSockets address and ICE servers, from its `GET /info` at
 * `origin`, for this page (its protocol: `location.protocol`, else the relay's).
 */
export async function fetchRelayInfo (origin: string, options?: { signal?: AbortSignal, pageProtocol?: string }): Promise<RelayInfo> {
  let body: unknown
  let info: z.infer<typeof infoSchema>
  try {
    body = await getInfo(origin, options)
    info = infoSchema.parse(body)
  } catch (err: any) {
    throw new RelayUnreachableError(`The relay at ${origin} cannot be reached: ${err?.message ?? err}`)
  }
  const relay = pickRelayAddr(info.multiaddrs, options?.pageProtocol ?? globalThis.location?.protocol ?? new URL(origin).protocol)
  const ice = relayIceSchema.safeParse(body)
  return { relay, ice: ice.success ? ice.data : { iceServers: [], iceServersTtl: null } }
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
