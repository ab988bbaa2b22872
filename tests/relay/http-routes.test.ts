import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseManifest, verifyManifest } from '@core/content/manifest'
import type { CatalogueEntry } from '../../relay/library/index'
import { HOSTILE_SEGMENTS, json, rawRequest, SAMPLE, startRelay, type TestRelay } from './helpers'

let relay: TestRelay
let sample: Buffer
let entry: CatalogueEntry

beforeAll(async () => {
  relay = await startRelay({ relayInfo: () => ({ peerId: '12D3KooWtest', multiaddrs: ['/ip4/127.0.0.1/tcp/10002/ws'] }) })
  sample = await readFile(SAMPLE)
  entry = relay.library.byFilename('sample.mp4') as CatalogueEntry
})
afterAll(async () => { await relay.close() })

describe('relay HTTP: routes', () => {
  it('GET /health → 200 OK text/plain, nosniff', async () => {
    const res = await fetch(`${relay.url}/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await res.text()).toBe('OK')
  })

  it('GET /list → the catalogue, readable from any origin', async () => {
    const res = await fetch(`${relay.url}/list`)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const list = await res.json() as CatalogueEntry[]
    expect(list).toEqual([{
      filename: 'sample.mp4',
      title: 'sample',
      size: sample.byteLength,
      mime: 'video/mp4',
      contentId: expect.stringMatching(/^[0-9a-f]{64}$/),
      chunks: Math.ceil(sample.byteLength / (256 * 1024)),
      chunkSize: 256 * 1024,
      duration: expect.closeTo(45, 1),
      url: '/videos/sample.mp4',
      origin: true,
      source: 'library',
      peers: 0,
      seeders: 0
    }])
    // the fields keep their order (the library's, then the new ones)
    expect(Object.keys(list[0]!)).toEqual(['filename', 'title', 'size', 'mime', 'contentId', 'chunks', 'chunkSize', 'url', 'duration', 'origin', 'source', 'peers', 'seeders'])
  })

  it.each(['by filename', 'by content id'])('GET /manifest %s → { contentId, manifest } that verifies', async (how) => {
    const key = how === 'by filename' ? 'sample.mp4' : entry.contentId
    const res = await fetch(`${relay.url}/manifest/${key}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const body = await res.json() as { contentId: string, manifest: unknown, url?: string }
    expect(body.contentId).toBe(entry.contentId)
    expect(body.url).toBe('/videos/sample.mp4')
    const manifest = parseManifest(body.manifest)
    await verifyManifest(manifest, entry.contentId)
    expect(manifest.size).toBe(sample.byteLength)
    expect(manifest.mime).toBe('video/mp4')
    if (how === 'by content id') expect(res.headers.get('cache-control')).toContain('immutable')
  })

  it('GET /manifest of an unknown name or id → 404 JSON', async () => {
    for (const key of ['nope.mp4', '0'.repeat(64), 'A'.repeat(64)]) {
      const res = await fetch(`${relay.url}/manifest/${key}`)
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: expect.any(String) })
    }
  })

  it('GET /info → what main.ts supplies', async () => {
    const res = await fetch(`${relay.url}/info`)
    expect(await res.json()).toEqual({ peerId: '12D3KooWtest', multiaddrs: ['/ip4/127.0.0.1/tcp/10002/ws'] })
  })

  it('GET /metrics → Prometheus text with the relay gauges', async () => {
    const res = await fetch(`${relay.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toMatch(/^pipbingo_peers_connected 3$/m)
    expect(text).toMatch(/^pipbingo_relay_reservations 2$/m)
    expect(text).toMatch(/^pipbingo_tracker_entries 5$/m)
    expect(text).toMatch(/^pipbingo_library_videos 1$/m)
    expect(text).toMatch(/^pipbingo_published_videos 0$/m)
    expect(text).toMatch(/^pipbingo_http_bytes_served_total \d+$/m)
    expect(text).toMatch(/^pipbingo_libp2p_bytes_served_total 0$/m)
    expect(text).toMatch(/^pipbingo_uploads_total 0$/m)
  })

  it('serves the web app, and index.html for page navigations but never for the API', async () => {
    const root = await fetch(`${relay.url}/`)
    expect(root.status).toBe(200)
    expect(await root.text()).toContain('pipbingo test page')
    const page = await fetch(`${relay.url}/watch/something`, { headers: { accept: 'text/html,*/*' } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('pipbingo test page')

    const asset = await fetch(`${relay.url}/missing.js`)
    expect(asset.status).toBe(404)
    expect(await asset.json()).toEqual({ error: expect.any(String) })
    for (const path of ['/videos/nope.mp4', '/manifest/nope.mp4', '/list/extra', '/upload/x', '/videos/']) {
      const res = await fetch(`${relay.url}${path}`, { headers: { accept: 'text/html' } })
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/)
      expect(res.status, path).toBeGreaterThanOrEqual(400)
    }
  })

  it('wrong methods → 405 JSON with Allow; CORS only on the public read routes', async () => {
    const del = await fetch(`${relay.url}/list`, { method: 'DELETE' })
    expect(del.status).toBe(405)
    expect(del.headers.get('allow')).toBe('GET, HEAD')
    expect(await del.json()).toEqual({ error: expect.any(String) })
    const get = await fetch(`${relay.url}/upload`)
    expect(get.status).toBe(405)
    expect(get.headers.get('access-control-allow-origin')).toBeNull()
    const metrics = await fetch(`${relay.url}/metrics`)
    expect(metrics.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await fetch(`${relay.url}/videos/sample.mp4`, { method: 'OPTIONS' })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Range')
  })

  it('a relay without info answers /info with 404', async () => {
    const bare = await startRelay()
    try {
      const res = await fetch(`${bare.url}/info`)
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: expect.any(String) })
    } finally {
      await bare.close()
    }
  })
})

describe('relay HTTP: hostile filenames → 400 JSON on every filename route', () => {
  const routes: Array<[string, string]> = [['GET', '/videos/'], ['HEAD', '/videos/'], ['GET', '/manifest/']]
  const cases = routes.flatMap(([method, prefix]) => HOSTILE_SEGMENTS.map(s => [method, prefix + s] as const))
  it.each(cases)('%s %s', async (method, path) => {
    const res = await rawRequest(relay.port, method, path, { range: 'bytes=0-10' })
    expect(res.status).toBe(400)
    if (method !== 'HEAD') {
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(json(res)).toEqual({ error: expect.any(String) })
    }
  })

  it.each([
    ['GET', '/videos/nope.mp4'],
    ['GET', '/videos/%252e%252e%252f'], // decoded once: the harmless label "%2e%2e%2f"
    ['GET', '/videos/SAMPLE.MP4'],
    ['GET', '/manifest/video_1.mp4'],
    ['HEAD', '/videos/nope.mp4']
  ])('unknown %s %s → 404', async (method, path) => {
    const res = await rawRequest(relay.port, method, path)
    expect(res.status).toBe(404)
    if (method !== 'HEAD') expect(json(res)).toEqual({ error: expect.any(String) })
  })

  it('the process is still serving afterwards', async () => {
    expect((await fetch(`${relay.url}/health`)).status).toBe(200)
  })
})
