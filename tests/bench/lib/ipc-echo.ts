import { createServer, type AddressInfo, type Socket } from 'node:net'

export interface EchoServer {
  port: number
  close(): Promise<void>
}

/**
 * The ceiling of the IPC's transport: a trivial JSON-lines server on
 * loopback that parses each line and answers it at once, one write per
 * reply (`setNoDelay`, as the bridge's IPC does), with the contract's
 * envelope around the request it got:
 * `{"success":true,"data":<the request>,"timestamp":"…"}`. `pad`, if
 * given, is added to each reply as `"pad":"xxx…"` of that many characters
 * (to match another server's reply size). No validation, no limits, no
 * ordering machinery: Node's TCP and JSON framing only.
 */
export async function startEchoServer (options: { pad?: number } = {}): Promise<EchoServer> {
  const pad = options.pad != null && options.pad > 0 ? 'x'.repeat(options.pad) : undefined
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
    socket.setEncoding('utf8')
    socket.setNoDelay(true)
    socket.on('error', () => {})
    let buffer = ''
    socket.on('data', (text: string) => {
      buffer += text
      let start = 0
      let nl: number
      while ((nl = buffer.indexOf('\n', start)) >= 0) {
        const request = JSON.parse(buffer.slice(start, nl)) as unknown
        start = nl + 1
        const reply = pad == null
          ? { success: true, data: request, timestamp: new Date().toISOString() }
          : { success: true, data: request, timestamp: new Date().toISOString(), pad }
        socket.write(`${JSON.stringify(reply)}\n`)
      }
      buffer = buffer.slice(start)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as AddressInfo).port,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
