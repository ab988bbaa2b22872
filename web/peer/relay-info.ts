import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { RelayUnreachableError } from './errors'

const infoSchema = z.object({ peerId: z.string(), multiaddrs: z.array(z.string()) })

/** The relay's WebSockets address, from its `GET /info`. */
export async function fetchRelayAddr (origin: string, options?: { signal?: AbortSignal }): Promise<Multiaddr> {
  let info: z.infer<typeof infoSchema>
  try {
    const response = await fetch(`${origin}/info`, { signal: options?.signal ?? AbortSignal.timeout(10_000) })
    if (!response.ok) throw new Error(`/info answered ${response.status}`)
    info = infoSchema.parse(await response.json())
  } catch (err: any) {
    throw new RelayUnreachableError(`The relay at ${origin} cannot be reached: ${err?.message ?? err}`)
  }
  const ws = info.multiaddrs.find(a => a.includes('/ws/') || a.includes('/wss/'))
  if (ws == null) throw new RelayUnreachableError('The relay offers no WebSockets address')
  return multiaddr(ws)
}
