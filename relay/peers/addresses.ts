import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { InvalidPeerRelayError } from './errors'

/** A configured peer relay: where to dial it, and who it must be. */
export interface PeerRelay {
  addr: Multiaddr
  id: PeerId
}

/** A `--peer-relay` value: a multiaddr whose last component is /p2p/<peer id>. */
export function parsePeerRelay (value: string): PeerRelay {
  let addr: Multiaddr
  try {
    addr = multiaddr(value)
  } catch (err) {
    throw new InvalidPeerRelayError(`"${value}" is not a multiaddr: ${(err as Error).message}`)
  }
  const last = addr.getComponents().at(-1)
  if (last?.name !== 'p2p' || last.value == null) throw new InvalidPeerRelayError(`"${value}" does not end in /p2p/<peer id>`)
  try {
    return { addr, id: peerIdFromString(last.value) }
  } catch (err) {
    throw new InvalidPeerRelayError(`"${value}" names no valid peer id: ${(err as Error).message}`)
  }
}

/** True when `value` is a valid `--peer-relay` (the config's check). */
export function isPeerRelayAddress (value: string): boolean {
  try {
    parsePeerRelay(value)
    return true
  } catch {
    return false
  }
}

/**
 * The IP addresses of peer relays given by IP (not by DNS name), as
 * multiaddrs for libp2p's connection-manager `allow` list: connections from
 * them pass the inbound rate per host, the connection cap and pruning.
 */
export function allowListOf (relays: readonly PeerRelay[]): string[] {
  const ips = new Set<string>()
  for (const { addr } of relays) {
    const first = addr.getComponents()[0]
    if ((first?.name === 'ip4' || first?.name === 'ip6') && first.value != null) ips.add(`/${first.name}/${first.value}`)
  }
  return [...ips]
}
