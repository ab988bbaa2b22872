import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PrivateKey } from '@libp2p/interface'
import { chatProtocol, type ChatProtocol, type ChatProtocolInit } from '@core/protocols/chat'
import { chunkProtocol, type ChunkProtocol, type UploadEvent } from '@core/protocols/chunk'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import type { ChunkStore } from '@core/store/types'
import { muxer } from '@core/protocols/muxer'
import { contentDht } from '@core/routing/dht'

export type TabNode = Libp2p<{ identify: unknown, ping: Ping, chunk: ChunkProtocol, tracker: TrackerClient, dht: KadDHT, chat: ChatProtocol }>

export interface TabNodeInit {
  privateKey: PrivateKey
  /** Sent through identify: `pipbingo-tab/<version> (<display name>)`. */
  userAgent?: string
  /** The relay's WebSockets address, ending in /p2p/<relay id>. */
  relay: Multiaddr
  store: ChunkStore
  /** The chat's keys, history and events (web/peer/chat/). */
  chat: ChatProtocolInit
  /**
   * The configuration of each new RTCPeerConnection, asked for every time:
   * the relay's TURN credentials expire (RelayIceServers). Default: no ICE
   * servers (host candidates suffice between tabs and on a LAN).
   */
  rtcConfiguration?: () => Promise<RTCConfiguration>
  onUpload?(event: UploadEvent): void
  canUpload?(peer: string, contentId: string): boolean
  beforeUpload?(bytes: number, options: { signal: AbortSignal }): Promise<void>
}

/**
 * The tab's libp2p node: WebSockets to the relay, a circuit-relay-v2
 * reservation there so other tabs can reach it, and WebRTC between tabs
 * (the relayed connection carries only the signalling). Runs the chunk
 * protocol over the tab's store and asks the relay's tracker who holds what,
 * and the relays' DHT as a client (its queries start at the relay; a tab
 * answers none). Runs the chat protocol too (web/peer/chat/).
 */
export async function createTabNode (init: TabNodeInit): Promise<TabNode> {
  return await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    ...(init.userAgent != null ? { nodeInfo: { userAgent: init.userAgent } } : {}),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      // never libp2p's default ICE servers (public STUN): `iceServers` is always set
      webRTC({ rtcConfiguration: init.rtcConfiguration ?? (() => ({ iceServers: [] })) }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    // the browser default refuses ws:// and private addresses; our relay is both on a LAN or loopback
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      chunk: chunkProtocol({ store: init.store, onUpload: init.onUpload, canUpload: init.canUpload, beforeUpload: init.beforeUpload }),
      tracker: trackerClient({ tracker: init.relay }),
      // the DHT checks a new contact with a ping
      ping: ping(),
      dht: contentDht({ server: false }),
      chat: chatProtocol(init.chat)
    }
  }) as unknown as TabNode
}
