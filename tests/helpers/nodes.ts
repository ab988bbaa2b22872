import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'

/**
 * A real libp2p node on loopback TCP (an ephemeral port) for tests. Extra
 * services are merged in; `addresses.announce` replaces the addresses it
 * tells others through identify (a peer that lies about where it is).
 */
export async function createTestNode<S extends Record<string, unknown>> (services: Libp2pOptions<S>['services'] = {} as any, addresses: { announce?: string[] } = {}): Promise<Libp2p<S & { identify: unknown }>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], ...addresses },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ...services } as any
  }) as any
}
