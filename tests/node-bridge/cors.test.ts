import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { startBridge, type TestBridge } from '../helpers/bridge'

const ALLOWED = ['http://localhost:5173', 'http://localhost', 'http://127.0.0.1:8080', 'http://127.0.0.1:9']
const REFUSED = [
  'https://evil.example', 'http://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io:80',
  'https://localhost:5173', 'http://[::1]:5173', 'http://192.168.1.10:8080', 'null', 'file://', 'http://localhost:5173/path'
]

/** A request with a Host header of our choosing (fetch does not let us set it). */
async function withHost (url: string, host: string): Promise<{ status: number, body: string }> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: '/stats', headers: { Host: host } }, res => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('CORS: localhost pages only', () => {
  let relay: TestRelay
  let bridge: TestBridge

  beforeAll(async () => {
    const content = await makeContent(300_000, { seed: 61, name: 'video_cors.mp4' })
    relay = await startRelay([{ name: 'video_cors.mp4', bytes: content.bytes }])
    bridge = await startBridge(relay)
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('answers allowed origins with their own origin, and their preflights', async () => {
    for (const origin of ALLOWED) {
      const response = await bridge.api('/stats', { headers: { Origin: origin } })
      expect(response.status, origin).toBe(200)
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin)
      expect(response.headers.get('vary'), origin).toMatch(/Origin/)

      const preflight = await bridge.api('/download', {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' }
      })
      expect(preflight.status, origin).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBe(origin)
      expect(preflight.headers.get('access-control-allow-methods'), origin).toMatch(/POST/)
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase(), origin).toMatch(/content-type/)
    }
    const stream = await bridge.api('/stream/nope.mp4', { headers: { Origin: 'http://localhost:3000', Range: 'bytes=0-1' } })
    expect(stream.headers.get('access-control-expose-headers')).toMatch(/Content-Range/)
    await stream.body?.cancel()
  })

  it('refuses every other origin with a 403 JSON error, preflight or not, and starts nothing', async () => {
    for (const origin of REFUSED) {
      const get = await bridge.api('/stats', { headers: { Origin: origin } })
      expect(get.status, origin).toBe(403)
      expect(get.headers.get('access-control-allow-origin'), origin).toBeNull()
      expect(Object.keys(await get.json()), origin).toEqual(['error'])

      const preflight = await bridge.api('/download', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } })
      expect(preflight.status, origin).toBe(403)
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull()
      await preflight.body?.cancel()

      // a "simple" cross-site POST (no preflight) must not start a download either
      const post = await bridge.api('/download', { method: 'POST', headers: { Origin: origin, 'Content-Type': 'text/plain' }, body: '{"filename":"video_cors.mp4"}' })
      expect(post.status, origin).toBe(403)
      await post.body?.cancel()
    }
    expect(bridge.bridge.manager.status()).toEqual({})
  })

  it('requests without an Origin (curl, VLC) get no CORS headers and work', async () => {
    const response = await bridge.api('/stats')
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
    await response.body?.cancel()
  })

  it('refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const port = new URL(bridge.url).port
    expect((await withHost(bridge.url, `localhost:${port}`)).status).toBe(200)
    expect((await withHost(bridge.url, `127.0.0.1:${port}`)).status).toBe(200)
    const evil = await withHost(bridge.url, `rebind.evil.example:${port}`)
    expect(evil.status).toBe(403)
    expect(Object.keys(JSON.parse(evil.body))).toEqual(['error'])
  })
})
