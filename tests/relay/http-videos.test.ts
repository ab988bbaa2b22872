import { randomBytes } from 'node:crypto'
import { readFile, rm, truncate } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { CatalogueEntry } from '../../relay/library/index'
import { json, metricValue, openDescriptors, rawRequest, SAMPLE, startRelay, type TestRelay } from './helpers'

const BYTES = 'pipbingo_http_bytes_served_total'
const BIG = 24 * 1024 * 1024

let relay: TestRelay
let sample: Buffer
let size: number
let entry: CatalogueEntry

beforeAll(async () => {
  relay = await startRelay({ files: { 'big.webm': randomBytes(BIG) } })
  sample = await readFile(SAMPLE)
  size = sample.byteLength
  entry = relay.library.byFilename('sample.mp4') as CatalogueEntry
})
afterAll(async () => { await relay.close() })

interface RangeCase { name: string, range: () => string | undefined, status: number, body?: () => [number, number] }

describe('GET /videos/:filename, ranges (RFC 9110), body compared byte for byte', () => {
  const cases: RangeCase[] = [
    { name: 'no Range → 200 whole file', range: () => undefined, status: 200, body: () => [0, size] },
    { name: 'bytes=0-1', range: () => 'bytes=0-1', status: 206, body: () => [0, 2] },
    { name: 'bytes=0-0', range: () => 'bytes=0-0', status: 206, body: () => [0, 1] },
    { name: 'last byte bytes=size-1-', range: () => `bytes=${size - 1}-`, status: 206, body: () => [size - 1, size] },
    { name: 'across chunk boundaries', range: () => 'bytes=262000-800000', status: 206, body: () => [262000, 800001] },
    { name: 'last-pos past the end is clamped', range: () => `bytes=${size - 10}-${size + 1000}`, status: 206, body: () => [size - 10, size] },
    { name: 'suffix bytes=-500', range: () => 'bytes=-500', status: 206, body: () => [size - 500, size] },
    { name: 'suffix larger than the file → all of it, 206', range: () => `bytes=-${size + 1000}`, status: 206, body: () => [0, size] },
    { name: 'bytes=size- → 416', range: () => `bytes=${size}-`, status: 416 },
    { name: 'bytes=size-size+5 → 416', range: () => `bytes=${size}-${size + 5}`, status: 416 },
    { name: 'bytes=-0 → 416', range: () => 'bytes=-0', status: 416 },
    { name: 'malformed → ignored, 200', range: () => 'bytes=abc', status: 200, body: () => [0, size] },
    { name: 'reversed → ignored, 200', range: () => 'bytes=5-1', status: 200, body: () => [0, size] },
    { name: 'other unit → ignored, 200', range: () => 'lines=0-1', status: 200, body: () => [0, size] },
    { name: 'multiple ranges → 200 whole file', range: () => 'bytes=0-1,5-6', status: 200, body: () => [0, size] }
  ]

  it.each(cases)('$name', async ({ range, status, body }) => {
    const before = await metricValue(relay, BYTES)
    const header = range()
    const res = await fetch(`${relay.url}/videos/sample.mp4`, { headers: header == null ? {} : { range: header } })
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(res.status).toBe(status)
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('etag')).toBe(`"${entry.contentId}"`)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Content-Range.*Content-Length.*Accept-Ranges/)
    if (status === 416) {
      expect(res.headers.get('content-range')).toBe(`bytes */${size}`)
      expect(JSON.parse(bytes.toString())).toEqual({ error: expect.any(String) })
      expect(await metricValue(relay, BYTES)).toBe(before)
      return
    }
    const [start, end] = body!()
    expect(res.headers.get('content-type')).toBe('video/mp4')
    expect(res.headers.get('content-length')).toBe(String(end - start))
    expect(res.headers.get('content-range')).toBe(status === 206 ? `bytes ${start}-${end - 1}/${size}` : null)
    expect(res.headers.get('last-modified')).toBeTruthy()
    expect(res.headers.get('cache-control')).toMatch(/max-age/)
    expect(bytes.equals(sample.subarray(start, end))).toBe(true)
    expect(await metricValue(relay, BYTES) - before).toBe(end - start)
  })

  it('HEAD → the headers of the GET, no body, nothing counted', async () => {
    const before = await metricValue(relay, BYTES)
    const whole = await rawRequest(relay.port, 'HEAD', '/videos/sample.mp4')
    expect(whole.status).toBe(200)
    expect(whole.headers['content-length']).toBe(String(size))
    expect(whole.headers['accept-ranges']).toBe('bytes')
    expect(whole.headers['content-type']).toBe('video/mp4')
    expect(whole.body.byteLength).toBe(0)
    const part = await rawRequest(relay.port, 'HEAD', '/videos/sample.mp4', { range: 'bytes=-500' })
    expect(part.status).toBe(206)
    expect(part.headers['content-range']).toBe(`bytes ${size - 500}-${size - 1}/${size}`)
    expect(part.headers['content-length']).toBe('500')
    const bad = await rawRequest(relay.port, 'HEAD', '/videos/sample.mp4', { range: `bytes=${size}-` })
    expect(bad.status).toBe(416)
    expect(await metricValue(relay, BYTES)).toBe(before)
  })

  it('conditional requests: If-None-Match → 304, If-Range decides whether the Range applies', async () => {
    const etag = `"${entry.contentId}"`
    const notModified = await rawRequest(relay.port, 'GET', '/videos/sample.mp4', { 'if-none-match': etag })
    expect(notModified.status).toBe(304)
    expect(notModified.body.byteLength).toBe(0)
    const changed = await rawRequest(relay.port, 'GET', '/videos/sample.mp4', { 'if-none-match': '"other"', range: 'bytes=0-1' })
    expect(changed.status).toBe(206)

    const same = await rawRequest(relay.port, 'GET', '/videos/sample.mp4', { 'if-range': etag, range: 'bytes=0-1' })
    expect(same.status).toBe(206)
    expect(same.body.equals(sample.subarray(0, 2))).toBe(true)
    const stale = await rawRequest(relay.port, 'GET', '/videos/sample.mp4', { 'if-range': '"another-version"', range: 'bytes=0-1' })
    expect(stale.status).toBe(200)
    expect(stale.body.equals(sample)).toBe(true)
    const byDate = await rawRequest(relay.port, 'GET', '/videos/sample.mp4', { 'if-range': same.headers['last-modified'] as string, range: 'bytes=0-1' })
    expect(byDate.status).toBe(206)
  })

  it('a filename with spaces and unicode, percent-encoded as the catalogue url says', async () => {
    const other = await startRelay({ files: { 'Été à Paris.webm': Buffer.from('not really webm') } })
    try {
      const [item] = (await (await fetch(`${other.url}/list`)).json() as CatalogueEntry[]).filter(e => e.mime === 'video/webm')
      expect(item?.url).toBe(`/videos/${encodeURIComponent('Été à Paris.webm')}`)
      const res = await fetch(`${other.url}${item!.url}`)
      expect(res.headers.get('content-type')).toBe('video/webm')
      expect(await res.text()).toBe('not really webm')
    } finally {
      await other.close()
    }
  })
})

describe('GET /videos/:filename, clients that go away', () => {
  const bigPath = (): string => join(relay.dir, 'big.webm')

  /** Start a download, take `take` bytes, then abort; resolves with what was received. */
  async function abortedDownload (take: number, onHeld?: () => Promise<void>): Promise<number> {
    return await new Promise((resolve, reject) => {
      let received = 0
      const req = request({ host: '127.0.0.1', port: relay.port, path: '/videos/big.webm', agent: false }, res => {
        res.on('data', (c: Buffer) => {
          received += c.byteLength
          if (received < take) return
          res.pause()
          void (onHeld?.() ?? Promise.resolve()).then(() => {
            req.destroy()
            resolve(received)
          }, reject)
        })
      })
      req.on('error', err => { if (!req.destroyed) reject(err) })
      req.end()
    })
  }

  it('an aborted download closes its file and counts no more than the file', async () => {
    expect(await openDescriptors(bigPath())).toBe(0)
    const before = await metricValue(relay, BYTES)
    const received = await abortedDownload(100_000, async () => {
      // the server is held back by the paused client: its read stream is open now
      await vi.waitFor(async () => { expect(await openDescriptors(bigPath())).toBe(1) })
    })
    await vi.waitFor(async () => { expect(await openDescriptors(bigPath())).toBe(0) })
    const counted = await metricValue(relay, BYTES) - before
    expect(counted).toBeGreaterThanOrEqual(received)
    expect(counted).toBeLessThan(BIG)
  })

  it('many aborted downloads at once leak no file descriptor; the server keeps serving', async () => {
    await Promise.all(Array.from({ length: 12 }, async (_, i) => await abortedDownload(1 + i * 50_000)))
    await vi.waitFor(async () => { expect(await openDescriptors(bigPath())).toBe(0) })
    const res = await rawRequest(relay.port, 'GET', '/videos/big.webm', { range: 'bytes=-3' })
    expect(res.status).toBe(206)
    expect(res.body.byteLength).toBe(3)
  })

  it('a completed download is counted exactly and closes its file', async () => {
    const before = await metricValue(relay, BYTES)
    const res = await fetch(`${relay.url}/videos/big.webm`)
    expect((await res.arrayBuffer()).byteLength).toBe(BIG)
    expect(await metricValue(relay, BYTES) - before).toBe(BIG)
    await vi.waitFor(async () => { expect(await openDescriptors(bigPath())).toBe(0) })
  })

  it('a 500 (logged) for a file whose size changed behind the library\'s back', async () => {
    const other = await startRelay()
    try {
      await truncate(join(other.dir, 'sample.mp4'), 1000)
      const res = await rawRequest(other.port, 'GET', '/videos/sample.mp4')
      expect(res.status).toBe(500)
      expect(json(res)).toEqual({ error: 'Internal server error' })
      expect(other.logs.join('\n')).toContain('LibraryFileChangedError')
    } finally {
      await other.close()
    }
  })

  it('a 404 for a file deleted behind the library\'s back, JSON', async () => {
    const other = await startRelay()
    try {
      await rm(join(other.dir, 'sample.mp4'))
      const res = await rawRequest(other.port, 'GET', '/videos/sample.mp4')
      expect(res.status).toBe(404)
      expect(json(res)).toEqual({ error: expect.any(String) })
    } finally {
      await other.close()
    }
  })
})
