import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/**
 * Where browsers reach the relay when it is not where it listens: its
 * `--public-url`. Pure functions of that URL and the listen addresses.
 */

/** The multiaddr of a host and port: `/dns4/<name>`, `/ip4/<a.b.c.d>` or `/ip6/<…>`, then `/tcp/<port>`. */
function hostPort (url: URL, port: number): string {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const proto = host.includes(':') ? 'ip6' : /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? 'ip4' : 'dns4'
  return `/${proto}/${host}/tcp/${port}`
}

/**
 * The WebSockets address browsers dial for a public URL: `https://video.example.org`
 * → `/dns4/video.example.org/tcp/443/tls/ws`, `http://box.lan:8000` →
 * `/dns4/box.lan/tcp/8000/ws` (the URL's port, else 443 or 80).
 */
export function publicWsAddr (publicUrl: string): Multiaddr {
  const url = new URL(publicUrl)
  const secure = url.protocol === 'https:'
  const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80
  return multiaddr(`${hostPort(url, port)}/${secure ? 'tls/ws' : 'ws'}`)
}

/** A libp2p WebSockets address (`/ws`, `/tls/ws`, `/wss`), not a circuit through one. */
export function isWebSocketsAddr (ma: Multiaddr): boolean {
  const names = ma.getComponents().map(c => c.name)
  return (names.includes('ws') || names.includes('wss')) && !names.includes('p2p-circuit')
}

export interface PublicAddressOptions {
  publicUrl: string
  /** The relay serves TLS itself (`--tls-cert`): no proxy in front, its WebSockets port is the public one. */
  relayServesTls: boolean
}

/**
 * libp2p's `announceFilter` for `--public-url` without `--announce`: the
 * WebSockets addresses the relay listens on are replaced by the public
 * one, the others (TCP, which bridges dial) kept as they are.
 * - Behind a proxy (the relay serves no TLS): the URL's own host and port,
 *   where the proxy takes WebSockets and HTTP alike (`/tls/ws` for https).
 * - The relay serving TLS itself: the URL's host, with the relay's own
 *   WebSockets port (`/dns4/<host>/tcp/<ws port>/tls/ws`), since browsers
 *   must reach it by the name its certificate holds.
 */
export function publicAddressFilter (options: PublicAddressOptions): (addrs: Multiaddr[]) => Multiaddr[] {
  const url = new URL(options.publicUrl)
  const behindProxy = publicWsAddr(options.publicUrl)
  return addrs => {
    const out = new Map<string, Multiaddr>()
    for (const ma of addrs) {
      let mapped = ma
      if (isWebSocketsAddr(ma)) {
        const components = ma.getComponents()
        const peer = components.find(c => c.name === 'p2p')?.value
        const port = Number(components.find(c => c.name === 'tcp')?.value)
        const base = options.relayServesTls ? multiaddr(`${hostPort(url, port)}/tls/ws`) : behindProxy
        mapped = peer != null ? base.encapsulate(`/p2p/${peer}`) : base
      }
      out.set(mapped.toString(), mapped)
    }
    return [...out.values()]
  }
}
