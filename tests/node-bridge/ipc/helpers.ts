import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBridge, type Bridge, type CreateBridgeOptions } from '../../../node-bridge/bridge'
import { parseConfigObject, type BridgeConfigInput } from '../../../node-bridge/config'
import { nameKey } from '@core/routing/names'
import type { TestRelay } from '../../helpers/relay'
import { TestIpcClient } from './client'

export const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export interface ChatBridge {
  bridge: Bridge
  /** Its display name (the default one when none was given). */
  name: string
  /** Its folder: `cache/`, `data/` (identity, kem.key, contacts.json, received/). */
  dir: string
  receiveDir: string
  /** Where send_file may read (its default `--send-dir`, `data/outbox`): tests put the files to send there. */
  outbox: string
  ipc(): Promise<TestIpcClient>
  /** Stop the bridge; its folder is removed unless `keep` (a restart follows). */
  close(options?: { keep?: boolean }): Promise<void>
}

export interface ChatBridgeOptions extends Partial<BridgeConfigInput>, CreateBridgeOptions {
  /** Reuse a folder (a restart). */
  dir?: string
}

/**
 * A real bridge on loopback with a display name, every port ephemeral (the
 * IPC's too), in its own folder, against a test relay. Like
 * tests/helpers/bridge.ts, plus createBridge's options (a frame tap, IPC limits).
 */
export async function startChatBridge (relay: TestRelay, name: string | undefined, options: ChatBridgeOptions = {}): Promise<ChatBridge> {
  const { dir: given, chatTap, ipcLimits, onScanProgress, logger, ...overrides } = options
  const dir = given ?? await mkdtemp(join(tmpdir(), 'pipbingo-ipc-'))
  const config = parseConfigObject({
    apiPort: 0, p2pPort: 0, wsPort: 0, ipcPort: 0,
    relayHttp: relay.relay.httpUrl(),
    cacheDir: join(dir, 'cache'),
    dataDir: join(dir, 'data'),
    name,
    ...overrides
  })
  const bridge = await createBridge(config, { chatTap, ipcLimits, onScanProgress, logger })
  try {
    await bridge.start()
  } catch (err) {
    await bridge.stop().catch(() => {})
    throw err
  }
  return {
    bridge,
    name: bridge.name,
    dir,
    receiveDir: config.receiveDir ?? join(config.dataDir, 'received'),
    outbox: config.sendDirs?.[0] ?? join(config.dataDir, 'outbox'),
    ipc: async () => await TestIpcClient.connect(bridge.ipcAddress().port),
    async close ({ keep = false } = {}) {
      await bridge.stop()
      if (!keep) await rm(dir, { recursive: true, force: true })
    }
  }
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

/** Resolves once the relay's tracker lists `bridge` under `name` (routing/names.ts); the registry says when it changes. */
export async function nameRegistered (relay: TestRelay, bridge: ChatBridge, name: string): Promise<void> {
  await peerRegistered(relay, bridge.bridge.node.peerId.toString(), name)
}

/** Resolves once the relay's tracker lists the peer `peerId` (a bridge, a tab) under `name`. */
export async function peerRegistered (relay: TestRelay, peerId: string, name: string): Promise<void> {
  const key = await nameKey(name)
  const registry = relay.relay.registry
  if (registry.holds(key, peerId)) return
  await new Promise<void>(resolve => {
    const off = registry.onChange(() => { if (registry.holds(key, peerId)) { off(); resolve() } })
  })
}
