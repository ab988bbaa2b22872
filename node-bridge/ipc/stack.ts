import type { AddressInfo } from 'node:net'
import type { ComponentLogger } from '@libp2p/interface'
import type { ChatService } from '../chat/service'
import type { ContactStore } from '../contacts/store'
import { createRequestHandler } from './commands'
import type { EventHub } from './hub'
import type { IpcLimits } from './limits'
import { createIpcServer, type IpcServer } from './server'
import { createIpcWebSocket, type IpcWebSocket } from './websocket'

export interface IpcStackInit {
  chat: ChatService
  contacts: ContactStore
  hub: EventHub
  status(): Promise<Record<string, unknown>>
  logger: ComponentLogger
  limits?: Partial<IpcLimits>
  /** Who may use the WebSocket from a page (see websocket.ts). */
  allowedOrigins: ReadonlySet<string>
  token: string
}

/** The IPC on TCP and its WebSocket twin, one request handler and one event hub for both. Binds only in `listen`. */
export interface IpcStack {
  tcp: IpcServer
  ws: IpcWebSocket
  listen(host: string, port: number, wsPort: number): Promise<{ tcp: AddressInfo, ws: AddressInfo }>
  close(): Promise<void>
}

export function createIpcStack (init: IpcStackInit): IpcStack {
  const log = init.logger.forComponent('pipbingo:bridge:ipc')
  const deps = { chat: init.chat, contacts: init.contacts, status: init.status, hub: init.hub, log, limits: init.limits }
  const tcp = createIpcServer(deps)
  const ws = createIpcWebSocket({ allowedOrigins: init.allowedOrigins, token: init.token, handle: createRequestHandler(deps), hub: init.hub, limits: tcp.limits, log })
  return {
    tcp,
    ws,
    async listen (host, port, wsPort) {
      const tcpAddr = await tcp.listen(port, host)
      try {
        return { tcp: tcpAddr, ws: await ws.listen(wsPort, host) }
      } catch (err) {
        await tcp.close()
        throw err
      }
    },
    async close () {
      await Promise.all([tcp.close(), ws.close()])
    }
  }
}
