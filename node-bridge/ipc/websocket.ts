import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ChatNoticeName } from '../chat/events'
import type { RequestHandler } from './commands'
import { failure, type Reply } from './envelope'
import type { EventHub } from './hub'
import type { IpcLimits } from './limits'
import { isLoopbackHostHeader } from '../rest/guards'
import { tokenMatches } from '../rest/token'
import { OrderedReplies } from './replies'

export interface IpcWebSocketDeps {
  /** Web origins whose pages may connect (a WebSocket is not bound by CORS): the app's, see rest/guards.ts. */
  allowedOrigins: ReadonlySet<string>
  /** A page connects with `?token=` the bridge's API token (rest/token.ts); programs send no Origin and need none. */
  token: string
  handle: RequestHandler
  hub: EventHub
  limits: IpcLimits
  log: Logger
}

export interface IpcWebSocket {
  readonly server: Server
  readonly clients: number
  listen(port: number, host: string): Promise<AddressInfo>
  close(): Promise<void>
}


/**
 * The IPC over a WebSocket: every client gets every notice (one JSON text
 * message each, the same `{ event, data }` objects), and may send the same
 * requests as on TCP, one per message, answered in order. `status
 * unsubscribe` / `subscribe {events}` narrow the notices. Clients are
 * pinged every idle timeout and dropped when they did not answer the last
 * ping; a message over 1 MiB closes the socket (code 1009).
 */
export function createIpcWebSocket (deps: IpcWebSocketDeps): IpcWebSocket {
  const { limits, log } = deps
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' }).end('This port speaks WebSocket only')
  })
  const wss = new WebSocketServer({
    server,
    maxPayload: limits.maxLineBytes,
    verifyClient: ({ origin, req }: { origin?: string, req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      // the same rules as the REST API: loopback Host names (DNS rebinding), the app's origins, and a page brings the token
      if (!isLoopbackHostHeader(req.headers.host)) { done(false, 403, 'Host not allowed: loopback names only'); return }
      if (origin == null || origin === '') { done(true); return }
      if (!deps.allowedOrigins.has(origin)) { done(false, 403, `Origin ${origin} is not allowed`); return }
      const given = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined
      if (!tokenMatches(given, deps.token)) { done(false, 403, 'A page must connect with ?token=<the bridge\'s API token>'); return }
      done(true)
    }
  })
  wss.on('error', err => { log.error('IPC WebSocket error: %s', err.message) })
  // a client that does not answer a ping within the idle timeout is gone: drop it
  const alive = new WeakMap<WebSocket, boolean>()
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) { ws.terminate(); continue }
      alive.set(ws, false)
      ws.ping()
    }
  }, limits.idleTimeoutMs)
  heartbeat.unref()
  wss.on('connection', ws => {
    alive.set(ws, true)
    ws.on('pong', () => { alive.set(ws, true) })
  })
  wss.on('connection', ws => {
    if (wss.clients.size > limits.maxClients) {
      ws.close(1013, `Too many clients (at most ${limits.maxClients})`)
      return
    }
    serve(ws, deps)
  })

  return {
    server,
    get clients () { return wss.clients.size },
    async listen (port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      return server.address() as AddressInfo
    },
    async close () {
      clearInterval(heartbeat)
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>(resolve => wss.close(() => { resolve() }))
      if (server.listening) await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

function serve (ws: WebSocket, { handle, hub, limits, log }: IpcWebSocketDeps): void {
  const controller = new AbortController()
  const send = (value: unknown): void => {
    if (ws.bufferedAmount > limits.maxWriteBuffer) {
      log('dropping a WebSocket client that does not read')
      ws.terminate()
      return
    }
    ws.send(JSON.stringify(value))
  }
  let unsubscribe: (() => void) | undefined = hub.subscribe(notice => { send(notice) })
  const replies = new OrderedReplies(async (reply: Reply) => { send(reply) }, () => {})
  const context = {
    signal: controller.signal,
    subscribe: (events?: readonly ChatNoticeName[]) => { unsubscribe?.(); unsubscribe = hub.subscribe(notice => { send(notice) }, events) },
    unsubscribe: () => { unsubscribe?.(); unsubscribe = undefined }
  }
  ws.on('message', (data, isBinary) => {
    if (replies.pending >= limits.maxPending) { replies.push(Promise.resolve(failure(`Too many requests under way (at most ${limits.maxPending})`))); return }
    if (isBinary) { replies.push(Promise.resolve(failure('Invalid JSON: send text messages'))); return }
    replies.push(handle(data.toString(), context))
  })
  ws.on('error', err => { log('WebSocket client error: %s', err.message) })
  ws.on('close', () => { controller.abort(new Error('The WebSocket client went away')); unsubscribe?.() })
}
