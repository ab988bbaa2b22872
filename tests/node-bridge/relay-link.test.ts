import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { relayConfigSchema } from '../../relay/config'
import { createRelay, type Relay } from '../../relay/relay'
import type { RelayLink, RelayLinkEvent } from '../../node-bridge/relay-link'
import { makeContent, type TestContent } from '../helpers/content'
import { startBridge, type TestBridge } from '../helpers/bridge'

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

function next (link: RelayLink, type: RelayLinkEvent['type']): Promise<RelayLinkEvent> {
  return new Promise(resolve => {
    const listener = (e: Event): void => {
      const detail = (e as CustomEvent<RelayLinkEvent>).detail
      if (detail.type !== type) return
      link.removeEventListener('relay', listener)
      resolve(detail)
    }
    link.addEventListener('relay', listener)
  })
}

describe('the link to the relay: retries while it is down, reconnects and re-announces when it comes back', () => {
  let content: TestContent
  let dir: string
  let httpPort: number
  let bridge: TestBridge
  const relays: Relay[] = []

  beforeAll(async () => {
    content = await makeContent(3 * 256 * 1024, { seed: 81, name: 'video_seeded.mp4' })
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-link-'))
    await mkdir(join(dir, 'library'))
    await mkdir(join(dir, 'bridge', 'cache'), { recursive: true })
    await writeFile(join(dir, 'bridge', 'cache', 'video_seeded.mp4'), content.bytes)
    httpPort = await freePort()
  })
  afterAll(async () => {
    await bridge?.close()
    for (const r of relays) await r.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  const startRelayHere = async (): Promise<Relay> => {
    const relay = await createRelay(relayConfigSchema.parse({
      httpPort, tcpPort: 0, wsPort: 0, libraryDir: join(dir, 'library'), dataDir: join(dir, 'relay-data'), webRoot: join(dir, 'web')
    }))
    relays.push(relay)
    await relay.start()
    return relay
  }
  const isSeeder = (relay: Relay): boolean => relay.registry.find(content.contentId).some(p => p.peer === bridge.bridge.node.peerId.toString() && p.complete)

  it('starts with no relay, says it retries, then connects; after a relay restart it reconnects and announces again', async () => {
    bridge = await startBridge({ httpUrl: `http://127.0.0.1:${httpPort}` }, { dir: join(dir, 'bridge') })
    const link = bridge.bridge.relayLink
    expect(link.connected).toBe(false)
    expect((await (await bridge.api('/health')).text())).toBe('OK')
    expect((await (await bridge.api('/stats')).json()).relay_connected).toBe(false)
    const retry = await next(link, 'retrying')
    expect(retry).toMatchObject({ type: 'retrying' })
    expect(retry.type === 'retrying' && retry.waitMs).toBeGreaterThan(0)

    const connected = next(link, 'connected')
    const first = await startRelayHere()
    expect(await connected).toMatchObject({ peer: first.node.peerId.toString() })
    await bridge.bridge.announcer.settled()
    expect(isSeeder(first)).toBe(true)
    expect((await (await bridge.api('/stats')).json()).relay_connected).toBe(true)

    const lost = next(link, 'disconnected')
    await first.stop()
    await lost
    expect((await (await bridge.api('/stats')).json()).relay_connected).toBe(false)

    // the same relay (same identity) comes back on other libp2p ports: found again through /info
    const back = next(link, 'connected')
    const second = await startRelayHere()
    expect(second.node.peerId.toString()).toBe(first.node.peerId.toString())
    await back
    await bridge.bridge.announcer.settled()
    expect(isSeeder(second)).toBe(true)
    expect((await (await bridge.api('/stats')).json()).relay).toBe(link.addr?.toString())
  })
})
