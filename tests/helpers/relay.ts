import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import { chunkProtocol } from '@core/protocols/chunk'
import { MemoryChunkStore } from '@core/store/memory-store'
import { relayConfigSchema } from '../../relay/config'
import { createRelay, type CreateRelayOptions, type Relay } from '../../relay/relay'
import type { TestContent } from './content'
import { createTestNode } from './nodes'
import { fill } from './swarm'

export interface TestRelay {
  relay: Relay
  dir: string
  /** Stop the relay and remove its folders. */
  close(): Promise<void>
  metric(name: string): Promise<number>
}

/**
 * A real relay on loopback with ephemeral ports, over a temporary library
 * holding `files`; `options` are createRelay's (its callbacks, clock).
 */
export async function startRelay (files: Array<{ name: string, bytes: Uint8Array }>, overrides: Record<string, unknown> = {}, options: CreateRelayOptions = {}): Promise<TestRelay> {
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-relay-'))
  const libraryDir = join(dir, 'library')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(libraryDir)
  for (const f of files) await writeFile(join(libraryDir, f.name), f.bytes)
  const relay = await createRelay(relayConfigSchema.parse({
    httpPort: 0,
    tcpPort: 0,
    wsPort: 0,
    libraryDir,
    dataDir: join(dir, 'data'),
    webRoot: join(dir, 'web'),
    ...overrides
  }), options)
  await relay.start()
  return {
    relay,
    dir,
    async close () {
      await relay.stop()
      await rm(dir, { recursive: true, force: true })
    },
    async metric (name: string) {
      const text = await (await fetch(`${relay.httpUrl()}/metrics`)).text()
      const line = text.split('\n').find(l => l.startsWith(`${name} `))
      if (line == null) throw new Error(`metric ${name} not found`)
      return Number(line.split(' ')[1])
    }
  }
}

/** The relay's TCP multiaddr (Node peers dial it). */
export function tcpAddr (r: TestRelay): ReturnType<Relay['multiaddrs']>[number] {
  const addr = r.relay.multiaddrs().find(a => !a.toString().includes('/ws'))
  if (addr == null) throw new Error('the relay has no TCP address')
  return addr
}

/** A peer that holds videos and publishes them: what `POST /publish` names as `peerId`. */
export interface Holder {
  node: Libp2p
  peerId: string
  stop(): Promise<void>
}

/**
 * A real peer (libp2p over loopback TCP, the chunk protocol over a memory
 * store, or `store`) holding `contents` (`indexes`: only those chunks of
 * each), connected to the relay at `relayAddrs`.
 */
export async function startHolder (relayAddrs: Multiaddr | Multiaddr[], contents: TestContent[], indexes?: number[], store: MemoryChunkStore = new MemoryChunkStore()): Promise<Holder> {
  for (const c of contents) await fill(store, c, indexes)
  const node = await createTestNode({ chunk: chunkProtocol({ store }) })
  await node.dial(relayAddrs, { signal: AbortSignal.timeout(5_000) })
  return { node, peerId: node.peerId.toString(), stop: async () => { await node.stop() } }
}
