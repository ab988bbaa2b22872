import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ListEntry } from '../../relay/catalogue'
import { relayConfigSchema } from '../../relay/config'
import { createRelay, type Relay } from '../../relay/relay'
import { MemoryChunkStore } from '@core/store/memory-store'
import { chunkOf, makeContent, type TestContent } from '../helpers/content'
import { startHolder } from '../helpers/relay'
import { startPeer, type Peer } from '../helpers/swarm'
import { openEvents, type SseClient } from './sse-client'

const GRACE = 60 * 60_000
const TTL = 10 * 60_000

let root: string
let t: number
let warnings: string[]
let content: TestContent
const relays: Relay[] = []
const peers: Peer[] = []
const clients: SseClient[] = []

beforeAll(async () => { content = await makeContent(5 * 256 * 1024 + 17, { seed: 9, name: 'from_a_tab.webm' }) })
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipbingo-relay-published-'))
  await mkdir(join(root, 'library'))
  t = 5_000_000
  warnings = []
})
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const p of peers.splice(0)) { p.announcer.stop(); await p.node.stop() }
  for (const r of relays.splice(0)) await r.stop()
  await rm(root, { recursive: true, force: true })
})

/** A real relay over `root`, its tracker and grace period on the test's clock, sweeping every 20 ms. */
async function start (): Promise<Relay> {
  const relay = await createRelay(relayConfigSchema.parse({
    httpPort: 0,
    tcpPort: 0,
    wsPort: 0,
    libraryDir: join(root, 'library'),
    dataDir: join(root, 'data'),
    webRoot: join(root, 'web'),
    trackerTtlMs: TTL,
    publishedGraceMs: GRACE
  }), { now: () => t, sweepIntervalMs: 20, onWarning: m => { warnings.push(m) } })
  relays.push(relay)
  await relay.start()
  return relay
}

async function stop (relay: Relay): Promise<void> {
  relays.splice(relays.indexOf(relay), 1)
  await relay.stop()
}

/** `POST /publish` naming a real peer that holds the content, connected to `relay` (stopped once answered: it announces nothing). */
async function publish (relay: Relay): Promise<Response> {
  const holder = await startHolder(relay.multiaddrs().find(a => !a.toString().includes('/ws'))!, [content])
  try {
    return await fetch(`${relay.httpUrl()}/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: content.manifest, peerId: holder.peerId, title: 'From a tab' })
    })
  } finally {
    await holder.stop()
  }
}

async function list (relay: Relay): Promise<ListEntry[]> {
  return await (await fetch(`${relay.httpUrl()}/list`)).json() as ListEntry[]
}

async function events (relay: Relay): Promise<SseClient> {
  const client = await openEvents(`${relay.httpUrl()}/events`)
  clients.push(client)
  await client.until('catalogue')
  return client
}

const counts = (want: { peers: number, seeders: number }) => (list: ListEntry[]): boolean => {
  const e = list.find(x => x.contentId === content.contentId)
  return e?.peers === want.peers && e?.seeders === want.seeders
}

describe('a real relay: videos published from browsers', () => {
  it('counts a real libp2p peer\'s announcements, and notices its disconnect and the expiry of what it announced', async () => {
    const relay = await start()
    expect((await publish(relay)).status).toBe(201)
    const live = await events(relay)

    const tcp = relay.multiaddrs().find(a => !a.toString().includes('/ws'))!
    // the relay counts what the peer shows it holds (asked over the chunk protocol), not what it claims
    const store = new MemoryChunkStore()
    await store.putManifest(content.manifest)
    await store.putChunk(content.contentId, 0, chunkOf(content, 0))
    const peer = await startPeer(tcp, { store })
    peers.push(peer)
    peer.announcer.set(content.contentId, false)
    await live.until('catalogue', counts({ peers: 1, seeders: 0 }))
    // the rest lands: the peer pushes each chunk to the relay, a seeder once it holds them all
    for (let i = 1; i < content.manifest.hashes.length; i++) await store.putChunk(content.contentId, i, chunkOf(content, i))
    peer.announcer.set(content.contentId, true)
    await live.until('catalogue', counts({ peers: 1, seeders: 1 }))
    expect((await list(relay)).find(e => e.contentId === content.contentId)).toMatchObject({ origin: false, source: 'browser', peers: 1, seeders: 1 })

    // nobody renews within the tracker's TTL: the sweep notices, without anyone asking the tracker
    peer.announcer.stop()
    t += TTL
    await live.until('catalogue', counts({ peers: 0, seeders: 0 }))

    // announced again, then gone from the relay
    peer.announcer.refresh()
    await live.until('catalogue', counts({ peers: 1, seeders: 1 }))
    await peer.node.stop()
    await live.until('catalogue', counts({ peers: 0, seeders: 0 }))
  })

  it('drops a published video nobody held for the grace period, and tells the live clients', async () => {
    const relay = await start()
    expect((await publish(relay)).status).toBe(201)
    const live = await events(relay)
    t += GRACE - 1
    await relay.catalogue.sweep()
    expect((await list(relay)).map(e => e.contentId)).toEqual([content.contentId])
    t += 1
    await live.until<ListEntry[]>('catalogue', l => l.length === 0)
    expect(await list(relay)).toEqual([])
    expect((await fetch(`${relay.httpUrl()}/manifest/${content.contentId}`)).status).toBe(404)
    expect(relay.published.size).toBe(0)
  })

  it('keeps published videos across a restart', async () => {
    const first = await start()
    expect((await publish(first)).status).toBe(201)
    const before = await list(first)
    await stop(first)

    const second = await start()
    expect(await list(second)).toEqual(before)
    const manifest = await (await fetch(`${second.httpUrl()}/manifest/${content.contentId}`)).json() as { contentId: string }
    expect(manifest.contentId).toBe(content.contentId)
    expect((await publish(second)).status).toBe(200)
    expect(warnings).toEqual([])
  })

  it('starts with no published videos, and says so, when published.json is corrupt', async () => {
    const first = await start()
    expect((await publish(first)).status).toBe(201)
    await stop(first)
    await writeFile(join(root, 'data', 'published.json'), '{"version":1,"entries":[{"contentId":')

    const second = await start()
    expect(await list(second)).toEqual([])
    expect(warnings).toEqual([expect.stringMatching(/published\.json is malformed/)])
    expect((await publish(second)).status).toBe(201)
  })

  it('stop() ends open event streams instead of waiting on them', async () => {
    const relay = await start()
    const live = await events(relay)
    await stop(relay)
    expect(await live.next()).toBeUndefined()
  })
})
