import { createServer, type AddressInfo, type Server } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { createRequestHandler, type CommandDeps } from './commands'
import { IpcConnection } from './connection'
import { failure, toLine } from './envelope'
import type { EventHub } from './hub'
import { DEFAULT_LIMITS, type IpcLimits } from './limits'

export interface IpcServerDeps extends CommandDeps {
  hub: EventHub
  log: Logger
  limits?: Partial<IpcLimits>
}

export interface IpcServer {
  /** The TCP server, not listening: the bridge binds it (127.0.0.1 only). */
  readonly server: Server
  readonly limits: IpcLimits
  /** Connected clients. */
  readonly clients: number
  listen(port: number, host: string): Promise<AddressInfo>
  close(): Promise<void>
}

/**
 * The JSON IPC of docs/contracts/ipc-8889.md over TCP: one JSON object
 * per line each way (see README.md). Never listens by itself.
 */
export function createIpcServer (deps: IpcServerDeps): IpcServer {
  const limits: IpcLimits = { ...DEFAULT_LIMITS, ...deps.limits }
  const handle = createRequestHandler(deps)
  const connections = new Set<IpcConnection>()
  // allowHalfOpen: a client that ends its side still gets its replies
  const server = createServer({ allowHalfOpen: true }, socket => {
    if (connections.size >= limits.maxClients) {
      // the longest-idle client makes room: silent clients cannot keep real ones out
      let idlest: IpcConnection | undefined
      const before = Date.now() - limits.evictIdleAfterMs
      for (const c of connections) if (c.idle && c.lastActivity <= before && (idlest == null || c.lastActivity < idlest.lastActivity)) idlest = c
      if (idlest != null) {
        connections.delete(idlest)
        idlest.evict()
      }
    }
    if (connections.size >= limits.maxClients) {
      socket.on('error', () => {})
      socket.end(toLine(failure(`Too many clients (at most ${limits.maxClients}): try again later`)))
      socket.destroySoon()
      return
    }
    const connection = new IpcConnection(socket, handle, deps.hub, limits, deps.log)
    connections.add(connection)
    socket.once('close', () => { connections.delete(connection) })
  })
  server.on('error', err => { deps.log.error('IPC server error: %s', err.message) })

  return {
    server,
    limits,
    get clients () { return connections.size },
    async listen (port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      return server.address() as AddressInfo
    },
    async close () {
      for (const c of connections) c.destroy()
      if (!server.listening) return
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
