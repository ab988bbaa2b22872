import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { askList, CatalogueRequestError, PROTOCOL, MAX_LIST_BYTES, type RemoteVideo } from '@core/protocols/catalogue'
import { loadOrCreateIdentity } from '../../node-bridge/identity'
import type { ListEntry } from '../../relay/catalogue'
import { makeContent, pseudoRandomBytes, type TestContent } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { openEvents, type SseClient } from './sse-client'

/**
 * Peer relays that lie: a libp2p node (the project's test stack) that
 * answers /pipbingo/catalogue/1.0.0 with what each test makes it say. B is
 * a real relay given it by --peer-relay.
 */

type Answer = (request: { type: string, contentId?: string }) => Uint8Array | { frameOf: number }

interface FakeRelay {
  node: Libp2p
  addr: string
  answer: Answer
  /** Requests received, by type. */
  asked: Array<{ type: string, contentId?: string }>
  /** Resolves at the next request of `type`. */
  next(type: string): Promise<void>
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

async function startFake (): Promise<FakeRelay> {
  const node = await createTestNode()
  const waiters: Array<{ type: string, resolve: () => void }> = []
  const fake: FakeRelay = {
    node,
    addr: node.getMultiaddrs()[0]!.toString(),
    answer: () => json({ ok: true, entries: [] }),
    asked: [],
    next: async type => await new Promise<void>(resolve => { waiters.push({ type, resolve }) })
  }
  await node.handle(PROTOCOL, async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 })
    try {
      const request = JSON.parse(new TextDecoder().decode((await lp.read()).subarray())) as { type: string, contentId?: string }
      fake.asked.push(request)
      const answer = fake.answer(request)
      for (const w of waiters.splice(0)) if (w.type === request.type) w.resolve(); else waiters.push(w)
      if (answer instanceof Uint8Array) await lp.write(answer)
      else await lp.write(new Uint8Array(answer.frameOf).fill(0x20)) // a frame this long (spaces): the reader must stop at the length
      await stream.close()
    } catch (err: any) {
      stream.abort(err)
    }
  })
  return fake
}

const video = (c: TestContent, filename = c.manifest.name): RemoteVideo => ({
  filename, title: filename, size: c.manifest.size, mime: c.manifest.mime, contentId: c.contentId, chunks: c.manifest.hashes.length, chunkSize: c.manifest.chunkSize
})

let fake: FakeRelay
let b: TestRelay
let events: SseClient
let listed: TestContent
let other: TestContent

beforeAll(async () => {
  listed = await makeContent(300_000, { seed: 21, name: 'lied-about.mp4' })
  other = await makeContent(300_000, { seed: 22, name: 'other.mp4' })
  fake = await startFake()
  fake.answer = req => req.type === 'list' ? json({ ok: true, entries: [video(listed)] }) : json({ ok: true, manifest: other.manifest })
  // B asks for the manifest ahead, once, as soon as it has the list
  const prefetched = fake.next('manifest')
  b = await startRelay([{ name: 'own.mp4', bytes: pseudoRandomBytes(100_000, 23) }], {
    peerRelays: [fake.addr],
    peerRelayPollMs: 200
  })
  events = await openEvents(`${b.relay.httpUrl()}/events`)
  await events.until<ListEntry[]>('catalogue', l => l.some(e => e.contentId === listed.contentId))
  await prefetched
  // a viewer's request joins that fetch if it is still running: when it is
  // answered, B has given up on fetching it ahead, and asks only for viewers
  expect((await fetch(`${b.relay.httpUrl()}/manifest/${listed.contentId}`)).status).toBe(502)
})

afterAll(async () => {
  events?.close()
  await b?.close()
  await fake?.node.stop()
})

describe('a peer relay that lies', () => {
  it('a manifest that does not match the listed id is refused: 502 with the reason, nothing cached, asked again next time', async () => {
    for (let i = 0; i < 2; i++) {
      const before = fake.asked.filter(r => r.type === 'manifest').length
      const res = await fetch(`${b.relay.httpUrl()}/manifest/${listed.contentId}`)
      expect(res.status).toBe(502)
      expect((await res.json() as { error: string }).error).toMatch(/sent a manifest that is not this video's/)
      // not served from a cache: the fake was asked again
      expect(fake.asked.filter(r => r.type === 'manifest').length).toBe(before + 1)
    }
    const byName = await fetch(`${b.relay.httpUrl()}/manifest/lied-about.mp4`)
    expect(byName.status).toBe(502)
  })

  it('a manifest that is no manifest is refused the same way', async () => {
    fake.answer = req => req.type === 'list' ? json({ ok: true, entries: [video(listed)] }) : json({ ok: true, manifest: { version: 1, name: '../x' } })
    const res = await fetch(`${b.relay.httpUrl()}/manifest/${listed.contentId}`)
    expect(res.status).toBe(502)
    expect((await res.json() as { error: string }).error).toMatch(/not this video's/)
  })

  it('a video the peer relay no longer has: 404', async () => {
    fake.answer = req => req.type === 'list' ? json({ ok: true, entries: [video(listed)] }) : json({ ok: false, code: 'unknown', error: 'gone' })
    const res = await fetch(`${b.relay.httpUrl()}/manifest/${listed.contentId}`)
    expect(res.status).toBe(404)
  })

  it('a list larger than the cap is cut off at its length: B keeps the list it had and keeps running', async () => {
    fake.answer = req => req.type === 'list' ? { frameOf: MAX_LIST_BYTES + 1024 } : json({ ok: false, code: 'unknown', error: 'gone' })
    await fake.next('list')
    await fake.next('list')
    expect((await fetch(`${b.relay.httpUrl()}/health`)).status).toBe(200)
    const list = await (await fetch(`${b.relay.httpUrl()}/list`)).json() as ListEntry[]
    expect(list.map(e => e.filename).sort()).toEqual(['lied-about.mp4', 'own.mp4'])

    // a list of too many entries, each fine, is refused whole as well
    const many = Array.from({ length: 1001 }, (_, i) => video(other, `many-${i}.mp4`))
    fake.answer = req => req.type === 'list' ? json({ ok: true, entries: many }) : json({ ok: false, code: 'unknown', error: 'gone' })
    await fake.next('list')
    await fake.next('list')
    expect((await (await fetch(`${b.relay.httpUrl()}/list`)).json() as ListEntry[]).some(e => e.filename.startsWith('many-'))).toBe(false)

    // and when it sends a sound list again, B takes it
    fake.answer = req => req.type === 'list' ? json({ ok: true, entries: [video(other)] }) : json({ ok: false, code: 'unknown', error: 'gone' })
    const next = await events.until<ListEntry[]>('catalogue', l => l.some(e => e.filename === 'other.mp4'))
    expect(next.filter(e => e.source === 'relay').map(e => e.filename)).toEqual(['other.mp4'])
  })
})

describe('who may ask a relay for its library', () => {
  let asker: Libp2p
  let friend: Libp2p
  let relay: TestRelay
  beforeAll(async () => {
    friend = await createTestNode()
    asker = await createTestNode()
    relay = await startRelay([{ name: 'shared.mp4', bytes: pseudoRandomBytes(100_000, 24) }], {
      peerRelays: [friend.getMultiaddrs()[0]!.toString()],
      catalogueRequestsPerMinute: 3,
      maxConnectionsPerPeer: 1
    })
  })
  afterAll(async () => {
    await relay?.close()
    await asker?.stop()
    await friend?.stop()
  })

  it('anyone gets the library, a peer that is no configured peer relay at a bounded rate', async () => {
    const connection = await asker.dial(tcpAddr(relay))
    for (let i = 0; i < 3; i++) expect((await askList(connection)).map(v => v.filename)).toEqual(['shared.mp4'])
    const refused = await askList(connection).catch((err: Error) => err)
    expect(refused).toBeInstanceOf(CatalogueRequestError)
    expect((refused as Error).message).toMatch(/Too many catalogue requests/)
  })

  it('a configured peer relay is never held back: not by the rate, not by --max-connections-per-peer', async () => {
    const connection = await friend.dial(tcpAddr(relay))
    for (let i = 0; i < 6; i++) expect((await askList(connection)).map(v => v.filename)).toEqual(['shared.mp4'])
    // two more connections, past the cap of 1 any other peer has: each answers
    const more = [await friend.dial(tcpAddr(relay), { force: true }), await friend.dial(tcpAddr(relay), { force: true })]
    for (const c of more) expect((await askList(c)).map(v => v.filename)).toEqual(['shared.mp4'])
    expect(relay.relay.node.getConnections(friend.peerId).filter(c => c.status === 'open').length).toBeGreaterThanOrEqual(3)
  })
})

describe('a --peer-relay list that names the relay itself (one list deployed on every relay)', () => {
  it('leaves itself out, says so, and dials the others', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pipbingo-self-'))
    const self = peerIdFromPrivateKey(await loadOrCreateIdentity(dataDir)).toString()
    const other = await createTestNode()
    const warnings: string[] = []
    const relay = await startRelay([], {
      dataDir,
      peerRelays: [`/ip4/127.0.0.1/tcp/9/p2p/${self}`, other.getMultiaddrs()[0]!.toString()]
    }, { onWarning: w => { warnings.push(w) } })
    try {
      expect(relay.relay.peerRelays.peers().map(String)).toEqual([other.peerId.toString()])
      expect(warnings).toEqual([expect.stringMatching(/names this relay itself/)])
    } finally {
      await relay.close()
      await other.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
