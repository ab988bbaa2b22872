import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseManifest, verifyManifest, type Manifest } from '@core/content/manifest'
import type { ListEntry } from '../../relay/catalogue'
import { MAX_PUBLISH_BODY_BYTES } from '../../relay/http/index'
import { makeContent, type TestContent } from '../helpers/content'
import { metricValue, startRelay, type Holder, type TestRelay } from './helpers'

let relay: TestRelay
let contents: TestContent[]
/** A real peer connected to the relay's node, holding every content: the relay fetches chunks from it before listing. */
let holder: Holder
let next = 0
/** A content nobody published yet (each test gets its own). */
const fresh = (): TestContent => contents[next++]!

beforeAll(async () => {
  relay = await startRelay()
  contents = await Promise.all(Array.from({ length: 16 }, async (_, i) => await makeContent(3 * 256 * 1024 + 1 + i, { seed: 100 + i, name: `clip_${i}.webm` })))
  holder = await relay.holder(contents)
})
afterAll(async () => { await relay.close() })

/** `POST /publish`; an object body without `peerId` names the holder. */
async function publish (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Response> {
  const withPeer = body != null && typeof body === 'object' && !Array.isArray(body) && !('peerId' in body) ? { peerId: holder.peerId, ...body } : body
  return await fetch(`${relay.url}/publish`, { method: 'POST', headers, body: typeof withPeer === 'string' ? withPeer : JSON.stringify(withPeer) })
}

async function list (): Promise<ListEntry[]> {
  return await (await fetch(`${relay.url}/list`)).json() as ListEntry[]
}

async function state (): Promise<{ list: ListEntry[], files: string[] }> {
  return { list: await list(), files: (await readdir(relay.dataDir, { recursive: true })).sort() }
}

describe('POST /publish: accepted', () => {
  it('a new manifest → 201 { entry }, listed first as a browser video without url, its manifest served by id and by name', async () => {
    const c = fresh()
    const res = await publish({ manifest: c.manifest, title: '  My   clip\u0000 ' })
    expect(res.status).toBe(201)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('location')).toBe(`/manifest/${c.contentId}`)
    const { entry } = await res.json() as { entry: ListEntry }
    const expected = {
      filename: c.manifest.name,
      title: 'My clip',
      size: c.manifest.size,
      mime: c.manifest.mime,
      contentId: c.contentId,
      chunks: 4,
      chunkSize: 256 * 1024,
      origin: false,
      source: 'browser',
      peers: 0,
      seeders: 0
    }
    expect(entry).toEqual(expected)
    const listed = await list()
    expect(listed[0]).toEqual(expected)
    expect(listed[0]).not.toHaveProperty('url')
    expect(listed[0]).not.toHaveProperty('duration')
    expect(listed.map(e => e.source)).toEqual(['browser', 'library'])

    for (const key of [c.contentId, c.manifest.name]) {
      const reply = await fetch(`${relay.url}/manifest/${key}`)
      expect(reply.status).toBe(200)
      const body = await reply.json() as { contentId: string, manifest: unknown }
      expect(Object.keys(body)).toEqual(['contentId', 'manifest'])
      expect(body.contentId).toBe(c.contentId)
      await verifyManifest(parseManifest(body.manifest), c.contentId)
    }
  })

  it('without a title, the title comes from the name as for library files', async () => {
    const c = fresh()
    const manifest = { ...c.manifest, name: 'Summer_Trip-2024.webm' }
    const res = await publish({ manifest })
    expect(res.status).toBe(201)
    expect(((await res.json()) as { entry: ListEntry }).entry.title).toBe('Summer Trip 2024')
  })

  it('with the duration the browser read, /list shows it (a week at most; a bad one is a 400)', async () => {
    const c = fresh()
    const res = await publish({ manifest: c.manifest, duration: 95.5 })
    expect(res.status).toBe(201)
    expect((await list()).find(e => e.contentId === c.contentId)?.duration).toBe(95.5)
    for (const duration of [-1, 0, 8 * 24 * 3600, 'long']) {
      expect((await publish({ manifest: fresh().manifest, duration })).status, String(duration)).toBe(400)
    }
  })

  it('the same content again → 200 with the entry as it was (even under another name or title)', async () => {
    const c = fresh()
    const first = await (await publish({ manifest: c.manifest, title: 'First' })).json() as { entry: ListEntry }
    const before = await state()
    const again = await publish({ manifest: { ...c.manifest, name: 'other.webm' }, title: 'Second' })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual(first)
    expect(await state()).toEqual(before)
  })

  it('content the library holds → 200 with the library entry, nothing published', async () => {
    const sample = relay.library.byFilename('sample.mp4')!
    const manifest = await relay.library.manifest(sample.contentId) as Manifest
    const before = await state()
    const res = await publish({ manifest: { ...manifest, name: 'copy.mp4' } })
    expect(res.status).toBe(200)
    const { entry } = await res.json() as { entry: ListEntry }
    expect(entry).toMatchObject({ contentId: sample.contentId, filename: 'sample.mp4', origin: true, source: 'library', url: '/videos/sample.mp4' })
    expect(await state()).toEqual(before)
  })

  it('counts it in pipbingo_published_videos', async () => {
    const before = await metricValue(relay, 'pipbingo_published_videos')
    expect((await publish({ manifest: fresh().manifest })).status).toBe(201)
    expect(await metricValue(relay, 'pipbingo_published_videos')).toBe(before + 1)
    expect(before).toBe(relay.published.size - 1)
  })
})

describe('POST /publish: refused with a JSON error, nothing added', () => {
  let before: { list: ListEntry[], files: string[] }
  let victim: TestContent
  beforeAll(() => { victim = fresh() })
  afterEach(async () => { expect(await state()).toEqual(before) })

  const m = (): Manifest => victim.manifest
  const cases: Array<[string, number, RegExp, () => Promise<Response>]> = [
    ['one hash too few', 400, /hashes has 3 entries, the size needs 4/, async () => await publish({ manifest: { ...m(), hashes: m().hashes.slice(1) } })],
    ['one hash too many', 400, /hashes has 5 entries/, async () => await publish({ manifest: { ...m(), hashes: [...m().hashes, m().hashes[0]] } })],
    ['a hash that is not hex', 400, /hash/, async () => await publish({ manifest: { ...m(), hashes: ['zz', ...m().hashes.slice(1)] } })],
    ['a name that climbs out: ../x.mp4', 400, /name is not allowed: it contains a path separator/, async () => await publish({ manifest: { ...m(), name: '../x.mp4' } })],
    ['a name with a NUL', 400, /name is not allowed: it contains a control character/, async () => await publish({ manifest: { ...m(), name: 'a\u0000.mp4' } })],
    ['a hidden name', 400, /name is not allowed: it starts with a dot/, async () => await publish({ manifest: { ...m(), name: '.pipbingo' } })],
    ['a size past 64 GiB', 400, /size/, async () => await publish({ manifest: { ...m(), size: 65 * 1024 ** 3 } })],
    ['an unknown version', 400, /version/, async () => await publish({ manifest: { ...m(), version: 2 } })],
    ['a chunk size that is not a power of two', 400, /chunkSize/, async () => await publish({ manifest: { ...m(), chunkSize: 300_000 } })],
    ['an extra field', 400, /owner|Unrecognized/i, async () => await publish({ manifest: { ...m(), owner: 'me' } })],
    ['no manifest', 400, /manifest is missing/, async () => await publish({ title: 'x' })],
    ['a body that is an array', 400, /Invalid request/, async () => await publish([m()])],
    ['a title that is not a string', 400, /title/, async () => await publish({ manifest: m(), title: 7 })],
    ['audio', 415, /Only videos can be published: "audio\/mpeg"/, async () => await publish({ manifest: { ...m(), mime: 'audio/mpeg' } })],
    ['text', 415, /not a video type/, async () => await publish({ manifest: { ...m(), mime: 'text/html' } })],
    ['bad JSON', 400, /not valid JSON/, async () => await publish('{"manifest": {')],
    ['text/plain', 415, /application\/json, not "text\/plain"/, async () => await publish({ manifest: m() }, { 'content-type': 'text/plain' })],
    ['a form', 415, /application\/json/, async () => await publish('manifest=x', { 'content-type': 'application/x-www-form-urlencoded' })],
    ['no Content-Type', 415, /not "nothing"/, async () => await fetch(`${relay.url}/publish`, { method: 'POST', body: new Blob([JSON.stringify({ manifest: m() })]) })],
    ['a body past the limit', 413, /larger than 8 MiB/, async () => await publish({ manifest: m(), title: 'x'.repeat(MAX_PUBLISH_BODY_BYTES) })]
  ]
  it.each(cases)('%s → %i', async (_name, status, message, send) => {
    before = await state()
    const res = await send()
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await res.json() as { error: string }
    expect(Object.keys(body)).toEqual(['error'])
    expect(body.error).toMatch(message)
  })

  it('GET /publish → 405, and a cross-origin preflight gets no CORS headers', async () => {
    before = await state()
    const get = await fetch(`${relay.url}/publish`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    const preflight = await fetch(`${relay.url}/publish`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(preflight.status).toBeGreaterThanOrEqual(400)
  })
})

describe('/videos and /manifest for published videos', () => {
  it('GET|HEAD /videos of a name only a published video has → 404, nothing served', async () => {
    const c = fresh()
    expect((await publish({ manifest: c.manifest })).status).toBe(201)
    const get = await fetch(`${relay.url}/videos/${c.manifest.name}`, { headers: { range: 'bytes=0-10' } })
    expect(get.status).toBe(404)
    expect(get.headers.get('content-range')).toBeNull()
    expect(await get.json()).toEqual({ error: 'The relay does not hold this video: only peers share it' })
    const head = await fetch(`${relay.url}/videos/${c.manifest.name}`, { method: 'HEAD' })
    expect(head.status).toBe(404)
    // an unknown name still gets the plain 404
    expect(await (await fetch(`${relay.url}/videos/never.webm`)).json()).toEqual({ error: 'No video named "never.webm"' })
  })

  it('a published video cannot take a library file\'s name (any case, any Unicode form): 409, and /manifest by name keeps the library file', async () => {
    const c = fresh()
    const sample = relay.library.byFilename('sample.mp4')!
    const before = await state()
    for (const name of ['sample.mp4', 'SAMPLE.MP4', 'Sample.mp4']) {
      const res = await publish({ manifest: { ...c.manifest, name, mime: 'video/mp4' } })
      expect(res.status, name).toBe(409)
      expect((await res.json() as { error: string }).error).toBe(`The name "${name}" is taken: the relay's own library has "sample.mp4". Rename the file and publish it again`)
    }
    expect(await state()).toEqual(before)
    const byName = await (await fetch(`${relay.url}/manifest/sample.mp4`)).json() as { contentId: string, url?: string }
    expect(byName.contentId).toBe(sample.contentId)
    expect(byName.url).toBe('/videos/sample.mp4')
  })
})

describe('peer counts follow the tracker', () => {
  const steps: Array<[string, (r: TestRelay, id: string) => void, { peers: number, seeders: number }]> = [
    ['nobody yet', () => {}, { peers: 0, seeders: 0 }],
    ['a peer with part of it', (r, id) => { r.registry.announce('peer-a', [], [{ contentId: id, complete: false }]) }, { peers: 1, seeders: 0 }],
    ['a seeder joins', (r, id) => { r.registry.announce('peer-b', [], [{ contentId: id, complete: true }]) }, { peers: 2, seeders: 1 }],
    ['the first one finishes', (r, id) => { r.registry.announce('peer-a', [], [{ contentId: id, complete: true }]) }, { peers: 2, seeders: 2 }],
    ['the relay itself (an origin entry) is not counted', (r, id) => { r.registry.announce('relay', [], [{ contentId: id, complete: true }], { origin: true }) }, { peers: 2, seeders: 2 }],
    ['one withdraws', (r, id) => { r.registry.withdraw('peer-b', [id]) }, { peers: 1, seeders: 1 }],
    ['the other disconnects', (r) => { r.registry.removePeer('peer-a') }, { peers: 0, seeders: 0 }]
  ]
  let c: TestContent
  beforeAll(async () => {
    c = fresh()
    expect((await publish({ manifest: c.manifest })).status).toBe(201)
  })
  it.each(steps)('%s', async (_name, act, counts) => {
    act(relay, c.contentId)
    const entry = (await list()).find(e => e.contentId === c.contentId)
    expect(entry).toMatchObject(counts)
  })

  it('library videos are counted too', async () => {
    const sample = relay.library.byFilename('sample.mp4')!
    relay.registry.announce('peer-x', [], [{ contentId: sample.contentId, complete: true }])
    try {
      expect((await list()).find(e => e.contentId === sample.contentId)).toMatchObject({ origin: true, peers: 1, seeders: 1 })
    } finally {
      relay.registry.removePeer('peer-x')
    }
  })
})

describe('the published catalogue has a limit', () => {
  it('past maxPublished → 507 with a clear message, nothing added; the same content still answers 200', async () => {
    const small = await startRelay({ maxPublished: 1 })
    try {
      const [a, b] = contents.slice(-2) as [TestContent, TestContent]
      const peer = await small.holder([a, b])
      const post = async (manifest: Manifest): Promise<Response> => await fetch(`${small.url}/publish`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest, peerId: peer.peerId })
      })
      expect((await post(a.manifest)).status).toBe(201)
      const full = await post(b.manifest)
      expect(full.status).toBe(507)
      expect((await full.json() as { error: string }).error).toMatch(/already lists 1 videos published from browsers/)
      expect((await post(a.manifest)).status).toBe(200)
      expect(small.published.size).toBe(1)
      expect(await readdir(join(small.dataDir, 'published'))).toEqual([`${a.contentId}.json`])
    } finally {
      await small.close()
    }
  })
})
