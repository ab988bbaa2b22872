import type { Logger } from '@libp2p/interface'
import { DEFAULT_CHUNK_SIZE } from '@core/protocols/chat/constants'
import { anySignal } from '@core/util/abort'
import type { ChatNoticeName } from '../chat/events'
import type { ChatService } from '../chat/service'
import type { ContactStore } from '../contacts/store'
import { decryptMessage, encryptMessage } from '../crypto/envelope'
import { generateKeypair } from '../crypto/keypair'
import { failure, success, type Reply } from './envelope'
import { parseRequest, type IpcRequest } from './schema'

export interface CommandDeps {
  chat: ChatService
  contacts: ContactStore
  /** `status`: the daemon's state. */
  status(): Promise<Record<string, unknown>> | Record<string, unknown>
  log: Logger
  /** Deadline of a request that talks to a peer (files excepted: they have an idle timeout). Default 30 s. */
  requestTimeoutMs?: number
}

/** What a command may do to the connection it came on. */
export interface ConnectionContext {
  /** Aborts when the client goes away: its requests under way are cancelled. */
  signal: AbortSignal
  subscribe(events?: readonly ChatNoticeName[]): void
  unsubscribe(): void
}

export type RequestHandler = (line: string, ctx: ConnectionContext) => Promise<Reply>

/** Parse one line, run it, and wrap the outcome in the envelope. Never throws. */
export function createRequestHandler (deps: CommandDeps): RequestHandler {
  return async (line, ctx) => {
    // one turn of the event loop per request: a client pipelining CPU-bound requests (key pairs) lets other sockets in between
    await new Promise<void>(resolve => { setImmediate(resolve) })
    let parsed: ReturnType<typeof parseRequest> | undefined
    try {
      parsed = parseRequest(line)
      if (!parsed.ok) return failure(parsed.error, parsed.id)
      return success(await run(parsed.request, deps, ctx), parsed.id)
    } catch (err: any) {
      // whatever went wrong (parsing included), the client gets a reply: a rejected reply
      // queued behind another would be an unhandled rejection
      return failure(describeError(err, deps.log), parsed?.id)
    }
  }
}

async function run (req: IpcRequest, deps: CommandDeps, ctx: ConnectionContext): Promise<unknown> {
  const { chat, contacts } = deps
  const deadline = (): { signal: AbortSignal } => ({ signal: anySignal(ctx.signal, AbortSignal.timeout(deps.requestTimeoutMs ?? 30_000)) })
  switch (req.command) {
    case 'p2p':
      switch (req.action) {
        case 'start':
          chat.start(req.data?.stun_urls)
          return 'P2P network started'
        case 'stop':
          chat.stop()
          return 'P2P network stopped'
        case 'peers':
          return chat.peers()
        case 'send_message':
          await chat.sendMessage(req.data.peer, req.data.message, deadline())
          return 'Message sent'
        case 'send_file':
          return await chat.sendFile(req.data.peer, req.data.file_path, req.data.chunk_size ?? DEFAULT_CHUNK_SIZE, { signal: ctx.signal })
      }
      break
    case 'contacts':
      switch (req.action) {
        case 'list':
          return chat.contacts()
        case 'add':
          await contacts.add(req.data.peer, req.data.public_key)
          return 'Contact added'
        case 'remove':
          await contacts.remove(req.data.peer)
          return 'Contact removed'
        case 'negotiate_keys':
          return await chat.negotiateKeys(req.data.peer, deadline())
      }
      break
    case 'crypto':
      switch (req.action) {
        case 'generate_keypair':
          return generateKeypair()
        case 'encrypt':
          return { encrypted_data: encryptMessage(req.data.message, req.data.public_key) }
        case 'decrypt':
          return { message: decryptMessage(req.data.encrypted_data, req.data.private_key) }
      }
      break
    case 'status':
      switch (req.action) {
        case null:
          return await deps.status()
        case 'subscribe':
          ctx.subscribe(req.data?.events)
          return 'Subscribed to events'
        case 'unsubscribe':
          ctx.unsubscribe()
          return 'Unsubscribed from events'
      }
  }
  throw new Error('unreachable: the schema admits no other request')
}

/** Errors of our own modules say what went wrong in words a client can show; anything else is a bug, logged. */
const KNOWN = new Set([
  'PeerNotFoundError', 'AmbiguousPeerError', 'P2pStoppedError', 'FileSourceError', 'ReceiveFolderError',
  'ContactNotFoundError', 'ContactsFullError', 'InvalidKeyError', 'MalformedCiphertextError', 'DecryptionError', 'KeyMismatchError',
  'ChatProtocolError', 'ChatClosedError', 'ChatLimitedConnectionError', 'FrameAuthError', 'RangeError'
])

function describeError (err: any, log: Logger): string {
  const name: string = err?.name ?? ''
  if (KNOWN.has(name)) return err.message
  if (name === 'ChatRejectedError') return `The peer refused: ${err.message}`
  if (name === 'ChatTimeoutError' || name === 'TimeoutError') return 'The peer did not answer in time'
  if (name === 'AbortError') return 'Cancelled'
  if (name === 'UnsupportedProtocolError') return 'The peer does not speak the chat protocol'
  if (name === 'NoValidAddressesError' || name === 'DialError' || name === 'ConnectionFailedError') return `Cannot reach the peer: ${err.message}`
  log.error('IPC request failed: %s', err?.stack ?? err)
  return `Internal error: ${err?.message ?? String(err)}`
}
