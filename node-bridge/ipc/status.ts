import type { ChatService } from '../chat/service'
import type { PeerDirectory } from '../chat/names'
import type { ContactStore } from '../contacts/store'
import { PREFERRED } from '@core/protocols/chat/kem'
// a JSON import, not a read at run time: the production bundle (tools/build.mjs) carries it wherever it is
import packageJson from '../../package.json' with { type: 'json' }

const VERSION: string = packageJson.version

export interface IpcStatusDeps {
  name: string
  peerId: string
  startedAt: number
  chat: ChatService
  directory: PeerDirectory
  contacts: ContactStore
  connectedPeers(): number
  relayConnected(): boolean
  ipcClients(): number
  receiveDir: string
  sendDirs: readonly string[]
  /** The node's KEM public key, base64: what others pin in a contact. */
  publicKey: string
}

/** `{"command":"status","action":null}`: the daemon's state. */
export function describeIpcStatus (d: IpcStatusDeps): Record<string, unknown> {
  return {
    p2p_running: d.chat.running,
    name: d.name,
    peer_id: d.peerId,
    version: VERSION,
    started_at: new Date(d.startedAt).toISOString(),
    uptime_seconds: Math.floor((Date.now() - d.startedAt) / 1000),
    peers: d.connectedPeers(),
    chat_peers: d.directory.list().length,
    contacts: d.contacts.list().length,
    relay_connected: d.relayConnected(),
    kem: PREFERRED.name,
    public_key: d.publicKey,
    stun_urls: d.chat.stunUrls,
    ipc_clients: d.ipcClients(),
    receive_dir: d.receiveDir,
    send_dirs: [...d.sendDirs]
  }
}
