import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MAX_ADDRS_PER_PEER } from './constants'

export interface PeerAddressSources {
  /** This node's connections to the peer. */
  connections: Connection[]
  /** The addresses the peer gave this node through identify (the peer store); may throw when it knows none. */
  known(): Promise<Multiaddr[]>
  /** This node's own addresses, each ending in /p2p/<its id>. */
  own: Multiaddr[]
  /** The peer holds a circuit-relay reservation on this node. */
  reserved: boolean
}

/**
 * Where the tracker tells others to dial a peer: never what the peer wrote
 * in an announcement, and never a host it is not connecting from.
 *
 * - Direct addresses: those the peer gave through identify whose IP is the
 *   one its plain TCP connection to this node comes from. A peer cannot
 *   point downloaders at another host (at most at other ports of its own).
 *   Connections over WebSockets give none: behind a reverse proxy their
 *   remote address is the proxy's (often 127.0.0.1), which would let any
 *   peer name the loopback of every downloader. Browser tabs have no
 *   direct address anyway.
 * - Circuit addresses, when the peer holds a reservation here: built from
 *   this node's own addresses (`<own>/p2p-circuit/webrtc/p2p/<peer>` for
 *   the WebRTC upgrade, then `<own>/p2p-circuit/p2p/<peer>`), so that they
 *   lead to this relay and nowhere else.
 *
 * At most MAX_ADDRS_PER_PEER, direct ones first.
 */
export async function peerAddresses (peer: PeerId, sources: PeerAddressSources): Promise<Multiaddr[]> {
  const hosts = new Set<string>()
  for (const c of sources.connections) {
    if (c.status !== 'open' || c.limits != null) continue
    const names = c.remoteAddr.getComponents().map(x => x.name)
    if (!names.includes('tcp') || names.some(n => n === 'ws' || n === 'wss' || n === 'tls' || n === 'p2p-circuit')) continue
    const host = hostOf(c.remoteAddr)
    if (host != null) hosts.add(host)
  }
  const out: Multiaddr[] = []
  const seen = new Set<string>()
  const add = (ma: Multiaddr): void => {
    const key = ma.toString()
    if (seen.has(key) || out.length >= MAX_ADDRS_PER_PEER) return
    seen.add(key)
    out.push(ma)
  }
  if (hosts.size > 0) {
    let known: Multiaddr[] = []
    try {
      known = await sources.known()
    } catch {}
    for (const ma of known) {
      if (ma.getComponents().some(c => c.name === 'p2p-circuit')) continue
      const host = hostOf(ma)
      if (host != null && hosts.has(host)) add(ma)
    }
  }
  if (sources.reserved) {
    const own = sources.own.filter(ma => !ma.getComponents().some(c => c.name === 'p2p-circuit'))
    for (const suffix of [`/p2p-circuit/webrtc/p2p/${peer.toString()}`, `/p2p-circuit/p2p/${peer.toString()}`]) {
      for (const ma of own) add(ma.encapsulate(suffix))
    }
  }
  return out
}

/** The IP address of a multiaddr (ip4 or ip6), undefined for anything else (a DNS name). */
export function hostOf (ma: Multiaddr): string | undefined {
  const first = ma.getComponents()[0]
  return first != null && (first.name === 'ip4' || first.name === 'ip6') ? first.value : undefined
}
