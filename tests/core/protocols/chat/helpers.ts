import type { Libp2p } from 'libp2p'
import { chatProtocol, type ChatEvent, type ChatKeys, type ChatProtocol, type ChatProtocolInit, type FileReceiver, type SessionCiphers } from '@core/protocols/chat'
import { deriveSessionKey, sessionCiphers } from '../../../../web/core/protocols/chat/session-keys'
import { PREFERRED } from '../../../../web/core/protocols/chat/kem'
import { createTestNode } from '../../../helpers/nodes'

export type ChatNode = Libp2p<{ chat: ChatProtocol }>

/** ChatKeys in memory: an X-Wing key pair and the sessions negotiated, pins set by the test. */
export function memoryKeys (self: () => string): ChatKeys & { sessions: Map<string, SessionCiphers>, pins: Map<string, Uint8Array> } {
  const { publicKey, secretKey } = PREFERRED.kem.keygen()
  const sessions = new Map<string, SessionCiphers>()
  const pins = new Map<string, Uint8Array>()
  return {
    sessions,
    pins,
    publicKey: () => publicKey,
    checkRemoteKey (peer, key) {
      const pinned = pins.get(peer)
      if (pinned != null && Buffer.compare(pinned, key) !== 0) throw Object.assign(new Error('pinned key differs'), { code: 'key_mismatch' })
    },
    encapsulate: key => PREFERRED.kem.encapsulate(key),
    decapsulate: ct => PREFERRED.kem.decapsulate(ct, secretKey),
    async establish (h) {
      const ciphers = await sessionCiphers(deriveSessionKey(h), self(), h.peer)
      sessions.set(h.peer, ciphers)
      return ciphers
    },
    session: peer => sessions.get(peer)
  }
}

export interface ReceivedFile { name: string, bytes: Uint8Array[], finished: boolean, aborted: boolean }

/** Files kept in memory; `refuse` makes `open` throw. */
export function memoryReceiver (): FileReceiver & { files: ReceivedFile[], refuse?: string } {
  const files: ReceivedFile[] = []
  const receiver: FileReceiver & { files: ReceivedFile[], refuse?: string } = {
    files,
    async open (offer) {
      if (receiver.refuse != null) throw new Error(receiver.refuse)
      const file: ReceivedFile = { name: offer.name, bytes: [], finished: false, aborted: false }
      files.push(file)
      return {
        write: async chunk => { file.bytes.push(new Uint8Array(chunk)) },
        finish: async () => { file.finished = true; return { savedAs: `saved-${files.length}` } },
        abort: async () => { file.aborted = true }
      }
    }
  }
  return receiver
}

export interface TestChatNode {
  node: ChatNode
  keys: ReturnType<typeof memoryKeys>
  receiver: ReturnType<typeof memoryReceiver>
  events: ChatEvent[]
  frames: Array<{ direction: 'in' | 'out', peer: string, frame: Uint8Array }>
  /** Resolves with the first event (already seen or to come) that matches. */
  next(predicate: (e: ChatEvent) => boolean): Promise<ChatEvent>
  /** Resolves once a tapped frame matches. */
  nextFrame(predicate: (f: TestChatNode['frames'][number]) => boolean): Promise<void>
}

export async function chatNode (name: string, init: Partial<ChatProtocolInit> = {}): Promise<TestChatNode> {
  let self = ''
  const keys = memoryKeys(() => self)
  const receiver = memoryReceiver()
  const events: ChatEvent[] = []
  const waiters: Array<() => void> = []
  const frames: TestChatNode['frames'] = []
  const node = await createTestNode({
    chat: chatProtocol({
      name: () => name,
      keys,
      receiver,
      onEvent: e => { events.push(e); for (const w of waiters.splice(0)) w() },
      tap: (direction, peer, frame) => { frames.push({ direction, peer, frame: new Uint8Array(frame) }); for (const w of waiters.splice(0)) w() },
      ...init
    })
  }) as unknown as ChatNode
  self = node.peerId.toString()
  return {
    node,
    keys,
    receiver,
    events,
    frames,
    async next (predicate) {
      for (;;) {
        const found = events.find(predicate)
        if (found != null) return found
        await new Promise<void>(resolve => waiters.push(resolve))
      }
    },
    async nextFrame (predicate) {
      while (!frames.some(predicate)) await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
}
