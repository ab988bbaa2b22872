import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { request, type IncomingHttpHeaders } from 'node:http'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildManifest } from '@core/content/builder'
import { parseManifest, verifyManifest } from '@core/content/manifest'
import type { CatalogueEntry } from '../../relay/library/index'
import { folderState, HOSTILE_SEGMENTS, json, metricValue, rawRequest, SAMPLE, SEEK_FIXTURE, startRelay, type TestRelay } from './helpers'

const CAP = 5_000_000

let relay: TestRelay
let added: CatalogueEntry[]

beforeAll(async () => {
  relay = await startRelay({ maxUploadBytes: CAP })
  relay.library.on('added', e => added.push(e))
})
afterAll(async () => { await relay.close() })
beforeEach(() => { added = [] })

function multipart (parts: Array<{ field?: string, disposition?: string, type?: string, body: Uint8Array | string }>, boundary = 'pipbingo-test-boundary'): { body: Buffer, type: string } {
  const chunks: Buffer[] = []
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.field ?? 'file'}"${p.disposition ?? ''}\r\n` +
      (p.type != null ? `Content-Type: ${p.type}\r\n` : '') + '\r\n'))
    chunks.push(Buffer.from(p.body))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` }
}

interface Snapshot { library: string[], uploads: string[], list: unknown }

async function snapshot (): Promise<Snapshot> {
  return { ...await folderState(relay), list: await (await fetch(`${relay.url}/list`)).json() }
}

/** What a failed upload must leave behind: the library and catalogue as they were, an empty uploads folder, nothing beside the library. */
async function expectNothingLeft (before: Snapshot): Promise<void> {
  expect(await snapshot()).toEqual({ ...before, uploads: [] })
  expect((await readdir(dirname(relay.dir))).sort()).toEqual(['data', 'library', 'web'])
}

async function expectStored (entry: CatalogueEntry, bytes: Uint8Array, ext: string): Promise<void> {
  expect(entry.filename).toMatch(new RegExp(`^video_\\d{13}\\.${ext}$`))
  expect(entry.url).toBe(`/videos/${entry.filename}`)
  expect(entry.size).toBe(bytes.byteLength)
  expect((await readFile(join(relay.dir, entry.filename))).equals(Buffer.from(bytes))).toBe(true)
  const expected = await buildManifest((async function * () { yield bytes })(), { name: entry.filename, mime: entry.mime })
  expect(entry.contentId).toBe(expected.contentId)

  const list = await (await fetch(`${relay.url}/list`)).json() as CatalogueEntry[]
  expect(list[0]).toEqual(entry) // newest first
  const { contentId, manifest } = await (await fetch(`${relay.url}/manifest/${entry.filename}`)).json() as { contentId: string, manifest: unknown }
  expect(contentId).toBe(entry.contentId)
  await verifyManifest(parseManifest(manifest), entry.contentId)
  const served = await fetch(`${relay.url}${entry.url}`)
  expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
  expect((await folderState(relay)).uploads).toEqual([])
  expect(added.map(e => e.contentId)).toContain(entry.contentId)
}

describe('POST /upload: accepted', () => {
  it('multipart (browser form / curl -F): 201, stored as video_<ms>.mp4, titled from the original name', async () => {
    const bytes = await readFile(SEEK_FIXTURE)
    const uploadsBefore = await metricValue(relay, 'pipbingo_uploads_total')
    const form = new FormData()
    form.append('note', 'a field before the file is fine')
    form.append('file', new Blob([bytes], { type: 'video/mp4' }), 'My_Holiday-2024.mp4')
    const res = await fetch(`${relay.url}/upload`, { method: 'POST', body: form })
    expect(res.status).toBe(201)
    const entry = await res.json() as CatalogueEntry
    expect(res.headers.get('location')).toBe(entry.url)
    expect(entry.title).toBe('My Holiday 2024')
    expect(entry.mime).toBe('video/mp4')
    expect(entry.duration).toBeCloseTo(180, 1)
    await expectStored(entry, bytes, 'mp4')
    expect(await metricValue(relay, 'pipbingo_uploads_total')).toBe(uploadsBefore + 1)
  })

  it('multipart as curl sends it (application/octet-stream part)', async () => {
    const bytes = randomBytes(300_000)
    const { body, type } = multipart([{ disposition: '; filename="clip.mkv"', type: 'application/octet-stream', body: bytes }])
    const res = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': type }, body)
    expect(res.status).toBe(201)
    const entry = json(res) as CatalogueEntry
    expect(entry.mime).toBe('video/x-matroska')
    expect(entry.title).toBe('clip')
    await expectStored(entry, bytes, 'mkv')
  })

  it('raw body with ?name=', async () => {
    const bytes = randomBytes(700_000)
    const res = await fetch(`${relay.url}/upload?name=${encodeURIComponent('clip_one.webm')}`, {
      method: 'POST', body: bytes, headers: { 'content-type': 'video/webm' }
    })
    expect(res.status).toBe(201)
    const entry = await res.json() as CatalogueEntry
    expect(entry.title).toBe('clip one')
    expect(entry.mime).toBe('video/webm')
    expect(entry.duration).toBeUndefined()
    await expectStored(entry, bytes, 'webm')
  })

  it('raw body, streamed (chunked), with a percent-encoded X-Filename', async () => {
    const bytes = randomBytes(1_500_000)
    const res = await streamRequest('/upload', { 'content-type': 'video/quicktime', 'x-filename': encodeURIComponent('Été_à_Paris.mov') }, chunksOf(bytes, 100_000))
    expect(res.status).toBe(201)
    const entry = JSON.parse(res.body.toString()) as CatalogueEntry
    expect(entry.title).toBe('Été à Paris')
    await expectStored(entry, bytes, 'mov')
  })

  it('raw body without a name: the extension from the media type', async () => {
    const bytes = randomBytes(1000)
    const res = await fetch(`${relay.url}/upload`, { method: 'POST', body: bytes, headers: { 'content-type': 'video/ogg' } })
    expect(res.status).toBe(201)
    const entry = await res.json() as CatalogueEntry
    expect(entry.title).toMatch(/^video \d+$/)
    await expectStored(entry, bytes, 'ogv')
  })

  it('uploads at the same moment get distinct names, none overwritten', async () => {
    const payloads = Array.from({ length: 6 }, () => randomBytes(20_000))
    const entries = await Promise.all(payloads.map(async bytes => {
      const res = await fetch(`${relay.url}/upload?name=same.mp4`, { method: 'POST', body: bytes, headers: { 'content-type': 'video/mp4' } })
      expect(res.status).toBe(201)
      return await res.json() as CatalogueEntry
    }))
    expect(new Set(entries.map(e => e.filename)).size).toBe(payloads.length)
    for (const [i, entry] of entries.entries()) {
      expect((await readFile(join(relay.dir, entry.filename))).equals(payloads[i] as Buffer)).toBe(true)
    }
  })

  it('bytes the library already holds: 200 with the existing entry, no new catalogue entry', async () => {
    const listBefore = await (await fetch(`${relay.url}/list`)).json() as CatalogueEntry[]
    const res = await fetch(`${relay.url}/upload?name=again.mp4`, { method: 'POST', body: await readFile(SAMPLE), headers: { 'content-type': 'video/mp4' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ...relay.library.byFilename('sample.mp4'), origin: true, source: 'library', peers: 0, seeders: 0 })
    expect(await (await fetch(`${relay.url}/list`)).json()).toEqual(listBefore)
    expect(added).toEqual([])
  })
})

describe('POST /upload: refused, and nothing left behind', () => {
  it.each([
    ['raw text/plain', { 'content-type': 'text/plain' }, '/upload?name=x.mp4'],
    ['raw application/json', { 'content-type': 'application/json' }, '/upload'],
    ['no Content-Type', {}, '/upload?name=x.mp4'],
    ['raw video with a .exe name', { 'content-type': 'video/mp4' }, '/upload?name=x.exe'],
    ['raw video with a .mp3 name', { 'content-type': 'video/mp4' }, '/upload?name=song.mp3'],
    ['raw unknown video type, no name', { 'content-type': 'video/x-flv' }, '/upload']
  ])('%s → 415', async (_name, headers, path) => {
    const before = await snapshot()
    const res = await rawRequest(relay.port, 'POST', path, headers, randomBytes(50_000))
    expect(res.status).toBe(415)
    expect(json(res)).toEqual({ error: expect.any(String) })
    await expectNothingLeft(before)
  })

  it.each([
    ['a .txt file', '; filename="notes.txt"', 'text/plain'],
    ['a text part named .mp4', '; filename="x.mp4"', 'text/plain'],
    ['an image', '; filename="x.png"', 'image/png']
  ])('multipart with %s → 415', async (_name, disposition, type) => {
    const before = await snapshot()
    const { body, type: contentType } = multipart([{ disposition, type, body: randomBytes(10_000) }])
    const res = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': contentType }, body)
    expect(res.status).toBe(415)
    await expectNothingLeft(before)
  })

  it.each([
    ['an empty raw body', { 'content-type': 'video/mp4' }, Buffer.alloc(0)],
    ['a form without a file', { 'content-type': multipart([{ field: 'title', body: 'x' }]).type }, multipart([{ field: 'title', body: 'x' }]).body],
    ['an empty file in a form', { 'content-type': multipart([{ disposition: '; filename="x.mp4"', type: 'video/mp4', body: '' }]).type }, multipart([{ disposition: '; filename="x.mp4"', type: 'video/mp4', body: '' }]).body],
    ['multipart without a boundary', { 'content-type': 'multipart/form-data' }, Buffer.from('junk')],
    ['a truncated form', { 'content-type': multipart([]).type }, multipart([{ disposition: '; filename="x.mp4"', type: 'video/mp4', body: randomBytes(5000) }]).body.subarray(0, 3000)],
    ['a repeated ?name', { 'content-type': 'video/mp4' }, randomBytes(10), '/upload?name=a.mp4&name=b.mp4']
  ])('%s → 400', async (_name, headers, body, path = '/upload?name=x.mp4') => {
    const before = await snapshot()
    const res = await rawRequest(relay.port, 'POST', path as string, headers as Record<string, string>, body as Buffer)
    expect(res.status).toBe(400)
    expect(json(res)).toEqual({ error: expect.any(String) })
    await expectNothingLeft(before)
  })

  // `%zz` and `%` are left undecoded by the query parser: as literal labels they are harmless.
  const queryNames = HOSTILE_SEGMENTS.filter(s => s !== '%zz' && s !== '%')
  it.each(queryNames)('hostile ?name=%s → 400', async (name) => {
    const before = await snapshot()
    const res = await rawRequest(relay.port, 'POST', `/upload?name=${name}`, { 'content-type': 'video/mp4' }, randomBytes(1000))
    expect(res.status).toBe(400)
    expect(json(res)).toEqual({ error: expect.any(String) })
    await expectNothingLeft(before)
  })

  it.each(HOSTILE_SEGMENTS)('hostile X-Filename: %s → 400', async (name) => {
    const before = await snapshot()
    const res = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': 'video/mp4', 'x-filename': name }, randomBytes(1000))
    expect(res.status).toBe(400)
    await expectNothingLeft(before)
  })

  it.each([
    '; filename="../x.mp4"',
    '; filename="../../../tmp/x.mp4"',
    '; filename="a/b.mp4"',
    "; filename*=UTF-8''..%5Cx.mp4",
    "; filename*=UTF-8''a%00b.mp4",
    '; filename=".pipbingo"',
    '; filename=".."',
    '; filename=" x.mp4"',
    `; filename="${'a'.repeat(300)}.mp4"`
  ])('hostile multipart filename (%s) → 400', async (disposition) => {
    const before = await snapshot()
    const { body, type } = multipart([{ disposition, type: 'video/mp4', body: randomBytes(1000) }])
    const res = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': type }, body)
    expect(res.status).toBe(400)
    await expectNothingLeft(before)
  })

  it('over the cap with a Content-Length: 413 before reading', async () => {
    const before = await snapshot()
    const res = await rawRequest(relay.port, 'POST', '/upload?name=big.mp4', { 'content-type': 'video/mp4' }, randomBytes(CAP + 1))
    expect(res.status).toBe(413)
    expect(json(res)).toEqual({ error: expect.any(String) })
    await expectNothingLeft(before)
  })

  it('over the cap, streamed without a length: 413 once the cap is passed, partial file removed', async () => {
    const before = await snapshot()
    const res = await streamRequest('/upload?name=big.mp4', { 'content-type': 'video/mp4' }, chunksOf(randomBytes(CAP + 300_000), 250_000))
    expect(res.status).toBe(413)
    await expectNothingLeft(before)
  })

  it('over the cap in a form: 413, partial file removed', async () => {
    const before = await snapshot()
    const { body, type } = multipart([{ disposition: '; filename="big.mp4"', type: 'video/mp4', body: randomBytes(CAP + 1) }])
    const res = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': type }, body)
    expect(res.status).toBe(413)
    await expectNothingLeft(before)
    // exactly the cap is fine
    const { body: atCap, type: t2 } = multipart([{ disposition: '; filename="cap.mp4"', type: 'video/mp4', body: randomBytes(CAP) }])
    const ok = await rawRequest(relay.port, 'POST', '/upload', { 'content-type': t2 }, atCap)
    expect(ok.status).toBe(201)
  })

  it.each(['raw', 'multipart'])('a %s upload aborted mid-way leaves no file', async (kind) => {
    const before = await snapshot()
    const payload = randomBytes(3_000_000)
    const { body, type } = kind === 'raw'
      ? { body: payload, type: 'video/mp4' }
      : multipart([{ disposition: '; filename="x.mp4"', type: 'video/mp4', body: payload }])
    const req = request({
      host: '127.0.0.1', port: relay.port, method: 'POST', path: '/upload?name=x.mp4', agent: false,
      headers: { 'content-type': type, 'content-length': String(body.byteLength) }
    })
    req.on('error', () => {})
    req.write(body.subarray(0, 1_000_000))
    // the server is writing the temporary file...
    await vi.waitFor(async () => { expect((await folderState(relay)).uploads).toHaveLength(1) })
    req.destroy()
    // ...and removes it when the client goes away
    await vi.waitFor(async () => { expect((await folderState(relay)).uploads).toEqual([]) })
    await expectNothingLeft(before)
    expect(added).toEqual([])
  })

  it('the relay still serves after all that', async () => {
    expect((await fetch(`${relay.url}/health`)).status).toBe(200)
  })
})

function chunksOf (bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

/** A chunked request (no Content-Length), written piece by piece with backpressure. */
async function streamRequest (path: string, headers: Record<string, string>, chunks: Uint8Array[]): Promise<{ status: number, headers: IncomingHttpHeaders, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, method: 'POST', path, headers, agent: false }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }) })
    })
    req.on('error', reject)
    const write = (i: number): void => {
      if (i === chunks.length) { req.end(); return }
      if (req.write(chunks[i])) write(i + 1)
      else req.once('drain', () => { write(i + 1) })
    }
    write(0)
  })
}
