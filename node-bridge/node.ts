import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PrivateKey } from '@libp2p/interface'
import { chatProtocol, type ChatProtocol, type ChatProtocolInit } from '@core/protocols/chat'
import { chunkProtocol, type ChunkProtocol, type UploadEvent } from '@core/protocols/chunk'
import type { ChunkStore } from '@core/store/types'
import { muxer } from '@core/protocols/muxer'
import { contentDht, dhtServer } from '@core/routing/dht'
import { BoundedDhtDatastore } from '@core/routing/provider-limits'
import { relayTracker, type RelayTracker } from './tracker'

export { dhtServer }

export type BridgeNode = Libp2p<{
  identify: unknown
  ping: unknown
  chunk: ChunkProtocol
  tracker: RelayTracker
  chat: ChatProtocol
  dht: KadDHT
}>

export interface BridgeNodeInit {
  privateKey: PrivateKey
  host: string
  p2pPort: number
  wsPort: number
  /** The ICE servers of each new RTCPeerConnection, asked for every time (the relay's TURN credentials expire). */
  iceServers(): Promise<RTCIceServer[]>
  store: ChunkStore
  onUpload(event: UploadEvent): void
  /** /pipbingo/chat/1.0.0 (the IPC's messages, files and keys): see chat/stack.ts. */
  chat: ChatProtocolInit
}

/**
 * The bridge's libp2p node. Other Node peers dial its TCP port; browser tabs
 * on this machine dial its WebSockets port, and any tab can reach it over
 * WebRTC through its circuit-relay reservation on the relay (`/p2p-circuit`
 * + `/webrtc` listeners: the relayed connection carries only the signalling).
 * The bridge dials tabs the same way (their `/p2p-circuit/webrtc` addresses).
 * It serves every verified chunk of its cache and asks the relay's tracker
 * who holds what (RelayTracker: the address is set once it is known),
 * and the DHT of the relays' network (dhtServer).
 */
/** `bindAddress` for libjuice: the listen host, unless it is every interface. */
export function webRtcBind (host: string): { bindAddress?: string } {
  return host === '0.0.0.0' || host === '::' ? {} : { bindAddress: host }
}

/**
 * ICE servers as node-datachannel passes them to libdatachannel: it joins
 * each into one URL, `turn:<username>:<credential>@host:port`, which
 * libdatachannel splits at the first `:` and percent-decodes. A TURN REST
 * API username has a `:` of its own and a base64 credential may hold `/`,
 * so both are percent-encoded here (a browser takes them as they are).
 */
export function forLibdatachannel (servers: RTCIceServer[]): RTCIceServer[] {
  return servers.map(s => s.username == null || s.credential == null
    ? s
    : { ...s, username: encodeURIComponent(s.username), credential: encodeURIComponent(s.credential) })
}

export async function createBridgeNode (init: BridgeNodeInit): Promise<BridgeNode> {
  return await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    // the DHT's provider records, bounded per peer and in all (provider-limits.ts)
    datastore: new BoundedDhtDatastore(peerIdFromPrivateKey(init.privateKey).toString()),
    addresses: {
      listen: [
        `/ip4/${init.host}/tcp/${init.p2pPort}`,
        `/ip4/${init.host}/tcp/${init.wsPort}/ws`,
        '/p2p-circuit',
        '/webrtc'
      ]
    },
    transports: [
      tcp(),
      webSockets(),
      // node-datachannel under the hood; no public STUN server unless configured. Its UDP
      // sockets bind where the rest listens (loopback unless --host says otherwise): libjuice
      // takes `bindAddress` from the configuration, which node-datachannel's RTCPeerConnection passes on
      webRTC({ rtcConfiguration: async () => ({ iceServers: forLibdatachannel(await init.iceServers()), ...webRtcBind(init.host) }) as RTCConfiguration }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    services: {
      identify: identify(),
      ping: ping(),
      chunk: chunkProtocol({ store: init.store, onUpload: init.onUpload }),
      tracker: relayTracker(),
      chat: chatProtocol(init.chat),
      dht: contentDht({ server: dhtServer(init.host) })
    }
  }) as unknown as BridgeNode
}

/**
 * Release node-datachannel's native threads: a process that used WebRTC
 * does not exit until this is called (after every node is stopped). It
 * ends WebRTC for the whole process, so only main.ts calls it, at exit.
 */
export async function releaseWebRtc (): Promise<void> {
  const { cleanup } = await import('node-datachannel')
  cleanup()
}
