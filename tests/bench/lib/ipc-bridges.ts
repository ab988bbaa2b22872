import { join } from 'node:path'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createBridge, type Bridge } from '../../../node-bridge/bridge'
import { parseConfigObject } from '../../../node-bridge/config'
import { BenchIpcClient } from './ipc-client'

export interface IpcBridge {
  bridge: Bridge
  name: string
  peerId: PeerId
  /** Its folder: `cache/`, `data/` (identity, kem.key, contacts.json, received/). */
  dir: string
  receiveDir: string
  /** Its direct libp2p TCP address (loopback), with `/p2p/<id>`. */
  tcpAddr: Multiaddr
  /** A new IPC client on its TCP port. */
  ipc(): Promise<BenchIpcClient>
  stop(): Promise<void>
}

/**
 * A real bridge (createBridge, as the daemon assembles it) in this process,
 * every port ephemeral (the IPC's too), its folders under `dir`, against
 * the relay at `relayHttp`, with the display name `name`.
 */
export async function startIpcBridge (relayHttp: string, name: string, dir: string): Promise<IpcBridge> {
  const config = parseConfigObject({
    apiPort: 0, p2pPort: 0, wsPort: 0, ipcPort: 0,
    relayHttp,
    cacheDir: join(dir, 'cache'),
    dataDir: join(dir, 'data'),
    name
  })
  const bridge = await createBridge(config)
  try {
    await bridge.start()
  } catch (err) {
    await bridge.stop().catch(() => {})
    throw err
  }
  const tcpAddr = bridge.node.getMultiaddrs().find(m => isDirectTcp(m.toString()))
  if (tcpAddr == null) {
    await bridge.stop()
    throw new Error(`bridge ${name} listens on no loopback TCP address: ${bridge.node.getMultiaddrs().join(', ')}`)
  }
  return {
    bridge,
    name: bridge.name,
    peerId: bridge.node.peerId,
    dir,
    receiveDir: config.receiveDir ?? join(config.dataDir, 'received'),
    tcpAddr,
    ipc: async () => await BenchIpcClient.connect(bridge.ipcAddress().port),
    stop: async () => { await bridge.stop() }
  }
}

function isDirectTcp (addr: string): boolean {
  return addr.startsWith('/ip4/127.0.0.1/tcp/') && !addr.includes('/ws') && !addr.includes('p2p-circuit') && addr.includes('/p2p/')
}

/**
 * Connect `a` to `b` directly (loopback TCP + noise + yamux, not through the
 * relay) and wait until each knows the other's announced name (the chat
 * HELLO), or fail after `timeoutMs`.
 */
export async function introduce (a: IpcBridge, b: IpcBridge, timeoutMs = 20_000): Promise<void> {
  const knows = (x: IpcBridge, y: IpcBridge): boolean => x.bridge.chat.peers().some(p => p.peer_id === y.peerId.toString() && p.name === y.name)
  const offs: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.all([
      new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`${a.name} and ${b.name} did not greet each other within ${timeoutMs} ms`)) }, timeoutMs)
        const check = (): void => { if (knows(a, b) && knows(b, a)) resolve() }
        offs.push(a.bridge.events.subscribe(check), b.bridge.events.subscribe(check))
        check()
      }),
      a.bridge.node.dial(b.tcpAddr, { signal: AbortSignal.timeout(timeoutMs) })
    ])
  } finally {
    clearTimeout(timer)
    for (const off of offs) off()
  }
}

/** The open direct (unlimited) connections from `a` to `b`: the chat, the ping and the pump must all ride the one. */
export function directConnections (a: IpcBridge, b: IpcBridge): Connection[] {
  return a.bridge.node.getConnections(b.peerId).filter(c => c.status === 'open' && c.limits == null)
}
