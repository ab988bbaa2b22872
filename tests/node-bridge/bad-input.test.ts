import { readdir, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { on } from '../../node-bridge/downloads/events'
import { OriginGate } from './origin-gate'

const RUNNING = 'video_running.mp4'
const SECRET = 'TOP-SECRET-CONTENT-OUTSIDE-THE-CACHE'

/** Every file under `dir`, relative, sorted. */
async function tree (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name))).sort()
}

/** A request sent as written: fetch would normalise `/stream/..` away before it left. */
async function raw (url: string, method: string, path: string): Promise<{ status: number, text: string, type: string }> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (piece: string) => { text += piece })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type'] ?? '') }) })
    })
    req.on('error', reject)
    req.end()
  })
}

const json = (body: string | Uint8Array<ArrayBuffer>, type = 'application/json'): RequestInit => ({ method: 'POST', headers: { 'Content-Type': type }, body })

/** [what, request] → the 4xx status expected; every answer must be JSON `{ error }`. */
const POST_CASES: Array<[string, RequestInit, number]> = [
  ['malformed JSON', json('{"filename": '), 400],
  ['JSON that is not an object', json('"video_running.mp4"'), 400],
  ['an array', json('["video_running.mp4"]'), 400],
  ['an empty object', json('{}'), 400],
  ['a missing filename', json('{"name": "video_running.mp4"}'), 400],
  ['an extra field', json('{"filename": "video_running.mp4", "force": true}'), 400],
  ['a filename that is not a string', json('{"filename": 42}'), 400],
  ['an empty filename', json('{"filename": ""}'), 400],
  ['../../etc/passwd', json(JSON.stringify({ filename: '../../etc/passwd' })), 400],
  ['%2e%2e%2f', json(JSON.stringify({ filename: '%2e%2e%2fsecret.txt' })), 400],
  ['a/b', json(JSON.stringify({ filename: 'a/b' })), 400],
  ['a\\b', json(JSON.stringify({ filename: 'a\\b' })), 400],
  ['NUL', json(JSON.stringify({ filename: 'video\u0000.mp4' })), 400],
  ['a control character', json(JSON.stringify({ filename: 'video\n.mp4' })), 400],
  ['a very long name', json(JSON.stringify({ filename: `${'v'.repeat(5000)}.mp4` })), 400],
  ['a dot-file', json(JSON.stringify({ filename: '.pipbingo' })), 400],
  ['an unknown file', json(JSON.stringify({ filename: 'nope.mp4' })), 404],
  ['a body of 10 MB', json(new TextEncoder().encode(`{"filename": "${'a'.repeat(10 * 1024 * 1024)}"}`)), 413],
  ['a form post', json('filename=video_running.mp4', 'application/x-www-form-urlencoded'), 415],
  ['text/plain', json('{"filename": "video_running.mp4"}', 'text/plain'), 415]
]

/** Paths that must never reach a file. */
const PATH_CASES: Array<[string, string, number]> = [
  ['GET', '/stream/%2e%2e%2f%2e%2e%2fetc%2fpasswd', 400],
  ['GET', '/stream/..%2f..%2fetc%2fpasswd', 400],
  ['GET', '/stream/..%2fsecret.txt', 400],
  ['GET', '/stream/%252e%252e%252fsecret.txt', 400],
  ['GET', '/stream/a%2fb', 400],
  ['GET', '/stream/a/b', 400],
  ['GET', '/stream/..', 400],
  ['GET', '/stream/../secret.txt', 400],
  ['GET', '/stream/../../etc/passwd', 400],
  ['GET', '/stream/%00', 400],
  ['GET', '/stream/%E0%A4%A', 400],
  ['GET', `/stream/${'x'.repeat(300)}.mp4`, 400],
  ['GET', '/stream/.pipbingo', 400],
  ['GET', '/stream/%2Fetc%2Fpasswd', 400],
  ['GET', '/stream/nope.mp4', 404],
  ['GET', '/stream/video_running.mp4.part', 404],
  ['DELETE', '/download/..%2f..%2fcache', 400],
  ['DELETE', '/download/a/b', 400],
  ['DELETE', '/download/nope.mp4', 404],
  ['PUT', '/download', 405],
  ['GET', '/download', 405],
  ['POST', '/status', 405],
  ['GET', '/nothing-here', 404]
]

describe('bad input: a clear 4xx JSON error, nothing outside the cache, the running download unaffected', () => {
  let content: TestContent
  let relay: TestRelay
  let gate: OriginGate
  let bridge: TestBridge

  beforeAll(async () => {
    content = await makeContent(6 * 256 * 1024 + 99, { seed: 41, name: RUNNING })
    relay = await startRelay([{ name: RUNNING, bytes: content.bytes }])
    gate = await OriginGate.start(relay)
    bridge = await startBridge(relay, { relayHttp: gate.url })
    await writeFile(join(bridge.dir, 'secret.txt'), SECRET)
  })
  afterAll(async () => {
    await bridge?.close()
    await gate?.close()
    await relay?.close()
  })

  it('answers every bad request with its 4xx and goes on downloading', async () => {
    // a download under way, held at half by the origin
    gate.allow(content.contentId, 3)
    const changes: string[] = []
    on(bridge.bridge.manager, 'state', ({ status, to }) => { if (status.filename === RUNNING) changes.push(to) })
    expect((await postDownload(bridge.url, RUNNING)).body.status).toBe('started')
    const before = { bridge: await tree(bridge.dir), relay: await tree(relay.dir) }

    for (const [what, init, status] of POST_CASES) {
      const response = await fetch(`${bridge.url}/download`, init)
      expect(response.status, what).toBe(status)
      expect(response.headers.get('content-type'), what).toMatch(/^application\/json/)
      const body = await response.json()
      expect(Object.keys(body), what).toEqual(['error'])
      expect(typeof body.error, what).toBe('string')
      expect(body.error.length, what).toBeGreaterThan(0)
    }
    for (const [method, path, status] of PATH_CASES) {
      const { status: got, text, type } = await raw(bridge.url, method, path)
      expect(got, `${method} ${path}`).toBe(status)
      expect(type, `${method} ${path}`).toMatch(/^application\/json/)
      expect(text, `${method} ${path}`).not.toContain(SECRET)
      expect(text, `${method} ${path}`).not.toContain('root:')
      expect(Object.keys(JSON.parse(text)), `${method} ${path}`).toEqual(['error'])
    }

    // nothing was written anywhere but the running download's files in the cache
    const after = { bridge: await tree(bridge.dir), relay: await tree(relay.dir) }
    expect(after.relay).toEqual(before.relay)
    expect(after.bridge.filter(f => !f.startsWith('cache/'))).toEqual(before.bridge.filter(f => !f.startsWith('cache/')))
    expect(after.bridge.filter(f => f.startsWith('cache/') && !f.startsWith('cache/.pipbingo/'))).toEqual([`cache/${RUNNING}.part`])

    // the daemon is fine and the download still runs; let it finish
    expect(await (await bridge.api('/health')).text()).toBe('OK')
    expect(bridge.bridge.manager.get(RUNNING)!.state).toBe('downloading')
    gate.open(content.contentId)
    await bridge.waitFor(RUNNING, 'seeding')
    expect(changes).toEqual(['downloading', 'completed', 'seeding'])
    expect(digest(new Uint8Array(await (await bridge.api(`/stream/${RUNNING}`)).arrayBuffer()))).toBe(digest(content.bytes))
  })
})
