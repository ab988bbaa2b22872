import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseManifest, verifyManifest } from '@core/content/manifest'
import { askList } from '@core/protocols/catalogue'
import { loadOrCreateIdentity } from '../../node-bridge/identity'
import type { ListEntry } from '../../relay/catalogue'
import type { LinkEvent } from '../../relay/peers/index'
import { postDownload, startBridge } from '../helpers/bridge'
import { pseudoRandomBytes } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { openEvents, type SseClient } from './sse-client'

/**
 * Two real relays on loopback: B is given A by `--peer-relay` (A's TCP
 * multiaddr with its id) and lists A's library; A knows nothing of B.
 * A starts after B (a peer relay down at start), later leaves and comes
 * back on the same address with the same identity.
 */

const POLL_MS = 300
const GRACE_MS = 1500

const aOnly = { name: 'a-only.mp4', bytes: pseudoRandomBytes(300_000, 11) }
const clashA = { name: 'Clash.mp4', bytes: pseudoRandomBytes(200_000, 12) }
const clashB = { name: 'clash.mp4', bytes: pseudoRandomBytes(200_000, 13) }
const later = { name: 'later.mp4', bytes: pseudoRandomBytes(100_000, 14) }

let aDataDir: string
let aPort: number
let aId: string
let a: TestRelay | undefined
let b: TestRelay
let events: SseClient
const warnings: string[] = []
const linkEvents: LinkEvent[] = []

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** Relay A on its fixed TCP port and identity, over a fresh library of `files`. */
async function startA (files: Array<{ name: string, bytes: Uint8Array }>): Promise<TestRelay> {
  return await startRelay(files, { dataDir: aDataDir, tcpPort: aPort, catalogueRequestsPerMinute: 100_000 })
}

const fromA = (list: ListEntry[]): ListEntry[] => list.filter(e => e.source === 'relay' && e.relay === aId)

beforeAll(async () => {
  aDataDir = await mkdtemp(join(tmpdir(), 'pipbingo-relay-a-'))
  aId = peerIdFromPrivateKey(await loadOrCreateIdentity(aDataDir)).toString()
  aPort = await freePort()
  b = await startRelay([clashB], {
    peerRelays: [`/ip4/127.0.0.1/tcp/${aPort}/p2p/${aId}`],
    peerRelayPollMs: POLL_MS,
    peerRelayGraceMs: GRACE_MS,
    peerRelayRedialMaxMs: 400
  }, { onWarning: message => { warnings.push(message) } })
  b.relay.peerRelays.on(e => { linkEvents.push(e) })
  events = await openEvents(`${b.relay.httpUrl()}/events`)
})

afterAll(async () => {
  events?.close()
  await b?.close()
  await a?.close()
  await rm(aDataDir, { recursive: true, force: true })
})

describe('relays joined by --peer-relay', () => {
  it('a peer relay down at start is dialled again and again, said once; once it is up, B lists its library', async () => {
    // three failed dials in a row: A is not there yet
    await new Promise<void>(resolve => {
      const off = b.relay.peerRelays.on(e => { if (e.type === 'dial-failed' && e.failures >= 3) { off(); resolve() } })
    })
    expect(warnings.filter(w => w.includes(aId))).toHaveLength(1)
    expect(warnings[0]).toMatch(/cannot be reached/)

    a = await startA([aOnly, clashA])
    const list = await events.until<ListEntry[]>('catalogue', l => fromA(l).length > 0)
    const entry = fromA(list).find(e => e.filename === 'a-only.mp4')
    expect(entry).toMatchObject({ source: 'relay', relay: aId, origin: false, size: aOnly.bytes.byteLength, chunks: 2, peers: 0 })
    expect(entry).not.toHaveProperty('url')
    expect(entry?.contentId).toBe(a.relay.library.byFilename('a-only.mp4')?.contentId)
    // the same in /list, after B's own library
    const polled = await (await fetch(`${b.relay.httpUrl()}/list`)).json() as ListEntry[]
    expect(polled.map(e => e.source)).toEqual(['library', 'relay'])
    expect(linkEvents.some(e => e.type === 'up')).toBe(true)
  })

  it('a name B lists already stays B\'s video (compared case-blind), and that is said once', async () => {
    const list = await (await fetch(`${b.relay.httpUrl()}/list`)).json() as ListEntry[]
    const clash = list.filter(e => e.filename.toLowerCase() === 'clash.mp4')
    expect(clash).toHaveLength(1)
    expect(clash[0]).toMatchObject({ filename: 'clash.mp4', source: 'library', origin: true, contentId: b.relay.library.byFilename('clash.mp4')?.contentId })
    // listed again and again: still one warning
    for (let i = 0; i < 3; i++) expect((await (await fetch(`${b.relay.httpUrl()}/list`)).json() as ListEntry[]).length).toBe(2)
    expect(warnings.filter(w => w.includes('"Clash.mp4"'))).toHaveLength(1)
  })

  it('GET /manifest of A\'s video on B is asked of A, verified against its id and served with its ETag', async () => {
    const id = a!.relay.library.byFilename('a-only.mp4')!.contentId
    const byId = await fetch(`${b.relay.httpUrl()}/manifest/${id}`)
    expect(byId.status).toBe(200)
    expect(byId.headers.get('etag')).toBe(`"${id}"`)
    const body = await byId.json() as { contentId: string, manifest: unknown, url?: string }
    expect(body.contentId).toBe(id)
    expect(body.url).toBeUndefined()
    await verifyManifest(parseManifest(body.manifest), id)
    expect(b.relay.remote.byContentId(id)).toBeDefined()

    const byName = await fetch(`${b.relay.httpUrl()}/manifest/a-only.mp4`)
    expect(byName.status).toBe(200)
    expect((await byName.json() as { contentId: string }).contentId).toBe(id)
    const again = await fetch(`${b.relay.httpUrl()}/manifest/${id}`, { headers: { 'if-none-match': `"${id}"` } })
    expect(again.status).toBe(304)
  })

  it('B shares its own library over the catalogue protocol, never what it learned from A (no echo between relays)', async () => {
    const asker = await createTestNode()
    try {
      const shared = await askList(await asker.dial(tcpAddr(b)))
      expect(shared.map(v => v.filename)).toEqual(['clash.mp4'])
    } finally {
      await asker.stop()
    }
  })

  it('GET /videos of A\'s video on B is a 404 that says the bytes come from elsewhere', async () => {
    const res = await fetch(`${b.relay.httpUrl()}/videos/a-only.mp4`)
    expect(res.status).toBe(404)
    expect((await res.json() as { error: string }).error).toMatch(/does not hold this video/)
  })

  it('a bridge on B downloads A\'s video by its name: the manifest from B (asked of A), the bytes from a peer that holds them', async () => {
    // the holder: a bridge on B with the file in its cache, which it announces to B's tracker
    const holderDir = await mkdtemp(join(tmpdir(), 'pipbingo-holder-'))
    await mkdir(join(holderDir, 'cache'))
    await writeFile(join(holderDir, 'cache', aOnly.name), aOnly.bytes)
    const holder = await startBridge(b, { dir: holderDir })
    const downloader = await startBridge(b)
    try {
      await holder.bridge.relayLink.waitConnected()
      await holder.bridge.announcer.settled()
      await downloader.bridge.relayLink.waitConnected()
      const reply = await postDownload(downloader.url, aOnly.name)
      expect(reply.status).toBe(200)
      const done = await downloader.waitFor(aOnly.name, 'seeding', 'failed')
      expect(done).toMatchObject({ status: 'seeding', chunks_total: 2 })
      expect(await readFile(join(downloader.dir, 'cache', aOnly.name))).toEqual(Buffer.from(aOnly.bytes))
    } finally {
      await downloader.close()
      await holder.close()
      await rm(holderDir, { recursive: true, force: true })
    }
  })

  it('a video added to A\'s library shows up on B by the next poll', async () => {
    await writeFile(join(a!.relay.library.dir, later.name), later.bytes)
    const list = await events.until<ListEntry[]>('catalogue', l => fromA(l).some(e => e.filename === 'later.mp4'))
    expect(fromA(list).map(e => e.filename).sort()).toEqual(['a-only.mp4', 'later.mp4'])
  })

  it('A stopped: its videos stay for the grace period, then leave B\'s catalogue; A back: B redials by itself and lists them again', async () => {
    // what B lists the moment it notices the loss (read in the same turn: no clock involved)
    const atLoss = new Promise<ListEntry[]>(resolve => {
      const off = b.relay.peerRelays.on(e => { if (e.type === 'down') { off(); resolve(b.relay.catalogue.list()) } })
    })
    const stoppedAt = performance.now()
    await a!.close()
    a = undefined
    expect(fromA(await atLoss)).toHaveLength(2)
    const gone = await events.until<ListEntry[]>('catalogue', l => fromA(l).length === 0)
    expect(gone.map(e => e.filename)).toEqual(['clash.mp4'])
    // not before the grace: B's clock and this test's are one
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE_MS)
    expect(warnings.filter(w => w.includes(aId) && /Lost the connection/.test(w))).toHaveLength(1)

    a = await startA([aOnly, clashA, later])
    const back = await events.until<ListEntry[]>('catalogue', l => fromA(l).length === 2)
    expect(fromA(back).map(e => e.filename).sort()).toEqual(['a-only.mp4', 'later.mp4'])
    expect(b.relay.peerRelays.isUp(aId)).toBe(true)
  })
})
