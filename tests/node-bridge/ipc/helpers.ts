import { startBridge, type StartBridgeOptions, type TestBridge } from '../../helpers/bridge'
import type { TestRelay } from '../../helpers/relay'
import { TestIpcClient } from './client'

export const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export interface ChatBridge extends TestBridge {
  name: string
  ipc(): Promise<TestIpcClient>
}

/** A real bridge with a display name and its IPC on an ephemeral port. */
export async function startChatBridge (relay: TestRelay, name: string, options: StartBridgeOptions & Parameters<typeof startBridge>[1] = {}): Promise<ChatBridge> {
  const b = await startBridge(relay, { name, ...options })
  return Object.assign(b, {
    name,
    ipc: async () => await TestIpcClient.connect(b.bridge.ipcAddress().port)
  })
}

/** Connect two bridges directly (loopback TCP) and wait until each knows the other's name. */
export async function introduce (a: ChatBridge, b: ChatBridge): Promise<void> {
  const knows = (x: ChatBridge, y: ChatBridge): boolean => x.bridge.chat.peers().some(p => p.peer_id === y.bridge.node.peerId.toString() && p.name === y.name)
  const both = new Promise<void>((resolve) => {
    const check = (): void => { if (knows(a, b) && knows(b, a)) { offA(); offB(); resolve() } }
    const offA = a.bridge.events.subscribe(check)
    const offB = b.bridge.events.subscribe(check)
    check()
  })
  await a.bridge.node.dial(b.bridge.node.getMultiaddrs().filter(m => m.toString().includes('/tcp/') && !m.toString().includes('/ws') && !m.toString().includes('p2p-circuit')))
  await both
}
