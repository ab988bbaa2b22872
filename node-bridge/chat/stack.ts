import { createHash } from 'node:crypto'
import type { ComponentLogger, Connection, PeerId } from '@libp2p/interface'
import type { ChatEvent, ChatProtocol, ChatProtocolInit, FrameTap } from '@core/protocols/chat'
import { ContactStore } from '../contacts/store'
import { loadOrCreateKemIdentity, type KemIdentity } from '../crypto/keypair'
import type { ChatNotice } from './events'
import { ChatKeyring } from './keyring'
import { PeerDirectory } from './names'
import { ReceiveFolder } from './receive-folder'
import { SendFolders } from './send-folders'
import { ChatService, type NameLookup } from './service'

export interface ChatStackInit {
  self: PeerId
  dataDir: string
  receiveDir: string
  /** Folders send_file may read from (`--send-dir`). */
  sendDirs: readonly string[]
  /** The display name announced to peers. */
  name: string
  publish(notice: ChatNotice): void
  logger: ComponentLogger
  tap?: FrameTap
}

export interface ChatStack {
  contacts: ContactStore
  directory: PeerDirectory
  keyring: ChatKeyring
  identity: KemIdentity
  receiveFolder: ReceiveFolder
  sendFolders: SendFolders
  /** For the libp2p node's `chat` service. */
  protocolInit: ChatProtocolInit
  /** Once the node exists: the service IPC clients talk to. */
  attach(node: { services: { chat: ChatProtocol }, getConnections(peer?: PeerId): Connection[] }, names?: NameLookup): ChatService
}

/** A node's default display name: `peer-` and the end of its peer id. */
export function defaultName (peerId: PeerId): string {
  return `peer-${peerId.toString().slice(-8)}`
}

/**
 * The bridge's chat, before the node exists: contacts and KEM key from the
 * data folder, the receive folder, the protocol's init. Node-only parts
 * (files, native SHA-256) live here; the protocol is @core's.
 */
export async function createChatStack (init: ChatStackInit): Promise<ChatStack> {
  const contacts = await ContactStore.open(init.dataDir)
  const identity = await loadOrCreateKemIdentity(init.dataDir)
  const directory = new PeerDirectory(contacts)
  const keyring = new ChatKeyring({ self: init.self.toString(), identity, contacts, directory })
  await keyring.load()
  const receiveFolder = new ReceiveFolder(init.receiveDir)
  const sendFolders = new SendFolders(init.sendDirs, init.dataDir)
  await sendFolders.prepare()
  let service: ChatService | undefined
  const early: ChatEvent[] = []
  const protocolInit: ChatProtocolInit = {
    name: () => init.name,
    keys: keyring,
    receiver: receiveFolder,
    onEvent: e => { if (service == null) early.push(e); else service.onEvent(e) },
    createHasher: () => {
      const h = createHash('sha256')
      return { update: d => { h.update(d) }, digest: () => new Uint8Array(h.digest()) }
    },
    tap: init.tap
  }
  return {
    contacts,
    directory,
    keyring,
    identity,
    receiveFolder,
    sendFolders,
    protocolInit,
    attach (node, names) {
      service = new ChatService({
        names,
        protocol: node.services.chat,
        node,
        contacts,
        directory,
        keyring,
        publish: init.publish,
        sendFolders,
        log: init.logger.forComponent('pipbingo:bridge:chat')
      })
      for (const e of early.splice(0)) service.onEvent(e)
      return service
    }
  }
}
