import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { startBridge, type TestBridge } from '../helpers/bridge'

/** Besides the relay's app (both loopback names), one origin given with --allow-origin. */
const DEV_SERVER = 'http://localhost:5173'
/** Other localhost ports are any program's pages: refused like the rest of the web. */
const REFUSED = [
  'https://evil.example', 'http://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io:80',
  'https://localhost:5173', 'http://[::1]:5173', 'http://192.168.1.10:8080', 'null', 'file://', 'http://localhost:5173/path',
  'http://localhost:3000', 'http://127.0.0.1:9', 'http://localhost', 'http://127.0.0.1:5173'
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

describe('CORS and the API token: the app\'s pages only', () => {
  let relay: TestRelay
  let bridge: TestBridge
  let allowed: string[]
  let token: string

  beforeAll(async () => {
    const content = await makeContent(300_000, { seed: 61, name: 'video_cors.mp4' })
    relay = await startRelay([{ name: 'video_cors.mp4', bytes: content.bytes }])
    bridge = await startBridge(relay, { allowOrigins: [DEV_SERVER] })
    const app = new URL(relay.relay.httpUrl())
    allowed = [app.origin, `http://localhost:${app.port}`, DEV_SERVER]
    token = (await readFile(join(bridge.dir, 'data', 'api-token'), 'utf8')).trim()
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('answers the app\'s origins (the relay\'s, under both loopback names, and --allow-origin) with their own origin, and their preflights', async () => {
    for (const origin of allowed) {
      const response = await bridge.api('/stats', { headers: { Origin: origin } })
      expect(response.status, origin).toBe(200)
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin)
      expect(response.headers.get('vary'), origin).toMatch(/Origin/)

      const preflight = await bridge.api('/download', {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-pipbingo-token' }
      })
      expect(preflight.status, origin).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBe(origin)
      expect(preflight.headers.get('access-control-allow-methods'), origin).toMatch(/POST/)
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase(), origin).toMatch(/content-type.*x-pipbingo-token/)
    }
    const stream = await bridge.api('/stream/nope.mp4', { headers: { Origin: DEV_SERVER, Range: 'bytes=0-1' } })
    expect(stream.headers.get('access-control-expose-headers')).toMatch(/Content-Range/)
    await stream.body?.cancel()
  })

  it('refuses every other origin, other localhost ports included, with a 403 JSON error, preflight or not, and starts nothing', async () => {
    for (const origin of REFUSED) {
      const get = await bridge.api('/stats', { headers: { Origin: origin } })
      expect(get.status, origin).toBe(403)
      expect(get.headers.get('access-control-allow-origin'), origin).toBeNull()
      expect(Object.keys(await get.json()), origin).toEqual(['error'])

      const preflight = await bridge.api('/download', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } })
      expect(preflight.status, origin).toBe(403)
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull()
      await preflight.body?.cancel()

      // a "simple" cross-site POST (no preflight) must not start a download either, token or not
      const post = await bridge.api('/download', { method: 'POST', headers: { Origin: origin, 'Content-Type': 'text/plain', 'X-Pipbingo-Token': token }, body: '{"filename":"video_cors.mp4"}' })
      expect(post.status, origin).toBe(403)
      await post.body?.cancel()

      const read = await bridge.api('/token', { headers: { Origin: origin } })
      expect(read.status, origin).toBe(403)
      expect(JSON.stringify(await read.json())).not.toContain(token)
    }
    expect(bridge.bridge.manager.status()).toEqual({})
  })

  it('a page of the app reads the token with GET /token; its POST and DELETE need it, other pages\' and programs\' requests do not reach it', async () => {
    const origin = allowed[0]!
    const read = await bridge.api('/token', { headers: { Origin: origin } })
    expect(read.status).toBe(200)
    expect(read.headers.get('access-control-allow-origin')).toBe(origin)
    expect(read.headers.get('cache-control')).toBe('no-store')
    expect(await read.json()).toEqual({ token })
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    // no Origin (a program, or a navigation typed by the user): no token, programs need none
    expect((await bridge.api('/token')).status).toBe(403)

    const post = async (headers: Record<string, string>): Promise<Response> =>
      await bridge.api('/download', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{"filename":"video_cors.mp4"}' })
    const attempts: Array<Record<string, string>> = [{ Origin: origin }, { Origin: origin, 'X-Pipbingo-Token': 'f'.repeat(64) }, { 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' }]
    for (const headers of attempts) {
      const refused = await post(headers)
      expect(refused.status, JSON.stringify(headers)).toBe(403)
      expect((await refused.json()).error).toBe('A page\'s POST must carry the bridge\'s token in X-Pipbingo-Token (GET /token, from the app\'s origin)')
    }
    expect(bridge.bridge.manager.status()).toEqual({})
    const accepted = await post({ Origin: origin, 'X-Pipbingo-Token': token })
    expect(accepted.status).toBe(200)
    expect((await accepted.json()).status).toBe('started')
    const cancel = await bridge.api('/download/video_cors.mp4', { method: 'DELETE', headers: { Origin: origin } })
    expect(cancel.status).toBe(403)
    await cancel.body?.cancel()
  })

  it('requests without an Origin (curl, VLC) get no CORS headers and work, POST included (the seed\'s examples)', async () => {
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
