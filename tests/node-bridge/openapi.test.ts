import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRestApp } from '../../node-bridge/rest/app'
import { makeContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { checkSchema } from './schema-check'

const NAME = 'video_api.mp4'

/** Requests that exercise each documented operation: `METHOD /path` → [what, request]. */
type Call = [string, (url: string) => Promise<Response>]
const post = (url: string, body: string, type = 'application/json'): Promise<Response> => fetch(`${url}/download`, { method: 'POST', headers: { 'Content-Type': type }, body })
const CALLS: Record<string, Call[]> = {
  'get /health': [['ok', async u => await fetch(`${u}/health`)]],
  'get /stats': [['ok', async u => await fetch(`${u}/stats`)], ['foreign origin', async u => await fetch(`${u}/stats`, { headers: { Origin: 'https://evil.example' } })]],
  'get /status': [['ok', async u => await fetch(`${u}/status`)]],
  'get /token': [
    ['the app\'s page', async u => await fetch(`${u}/token`, { headers: { Origin: 'http://127.0.0.1:8080' } })],
    ['a program (no Origin)', async u => await fetch(`${u}/token`)]
  ],
  'post /download': [
    ['already cached', async u => await post(u, JSON.stringify({ filename: NAME }))],
    ['malformed', async u => await post(u, '{')],
    ['unknown', async u => await post(u, JSON.stringify({ filename: 'nope.mp4' }))],
    ['too large', async u => await post(u, JSON.stringify({ filename: 'x'.repeat(70_000) }))],
    ['not JSON', async u => await post(u, 'filename=x', 'application/x-www-form-urlencoded')]
  ],
  'delete /download/{filename}': [
    ['seeding', async u => await fetch(`${u}/download/${NAME}`, { method: 'DELETE' })],
    ['unknown', async u => await fetch(`${u}/download/nope.mp4`, { method: 'DELETE' })],
    ['traversal', async u => await fetch(`${u}/download/..%2fx`, { method: 'DELETE' })]
  ],
  'get /stream/{filename}': [
    ['whole', async u => await fetch(`${u}/stream/${NAME}`)],
    ['range', async u => await fetch(`${u}/stream/${NAME}`, { headers: { Range: 'bytes=0-1023' } })],
    ['unsatisfiable', async u => await fetch(`${u}/stream/${NAME}`, { headers: { Range: 'bytes=99999999-' } })],
    ['unknown', async u => await fetch(`${u}/stream/nope.mp4`)],
    ['traversal', async u => await fetch(`${u}/stream/%2e%2e%2fx`)]
  ],
  'get /list': [['ok', async u => await fetch(`${u}/list`)]],
  'get /events': [['stream', async u => await fetch(`${u}/events`)]],
  'get /metrics': [['ok', async u => await fetch(`${u}/metrics`)]],
  'get /openapi.json': [['ok', async u => await fetch(`${u}/openapi.json`)]]
}

describe('GET /openapi.json describes the API as it answers', () => {
  let relay: TestRelay
  let bridge: TestBridge
  let doc: any

  beforeAll(async () => {
    const content = await makeContent(3 * 256 * 1024 + 5, { seed: 91, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
    bridge = await startBridge(relay, { allowOrigins: ['http://127.0.0.1:8080'] })
    await postDownload(bridge.url, NAME)
    await bridge.waitFor(NAME, 'seeding')
    doc = await (await bridge.api('/openapi.json')).json()
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('is OpenAPI 3.1 and documents exactly the routes the app serves', () => {
    expect(doc.openapi).toBe('3.1.0')
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map(method => `${method} ${path}`)).sort()
    expect(documented).toEqual(Object.keys(CALLS).sort())
    const app = createRestApp({ allowedOrigins: new Set(), token: '' } as any) as any
    const served = (app.router.stack as any[])
      .filter(layer => layer.route != null && typeof layer.route.path === 'string')
      .flatMap(layer => Object.keys(layer.route.methods).filter(m => m !== '_all').map(m => `${m} ${String(layer.route.path).replace(/:(\w+)/g, '{$1}')}`))
      .sort()
    expect(served).toEqual(documented)
  })

  it('every operation answers with a documented status, and its JSON matches the documented schema', async () => {
    for (const [op, calls] of Object.entries(CALLS)) {
      const [method, path] = op.split(' ') as [string, string]
      const operation = doc.paths[path][method]
      for (const [what, call] of calls) {
        const response = await call(bridge.url)
        const label = `${op} (${what}) → ${response.status}`
        const documented = operation.responses[String(response.status)]
        expect(documented, label).toBeDefined()
        const types = Object.keys(documented.content ?? {})
        const type = response.headers.get('content-type') ?? ''
        if (types.includes('text/event-stream')) {
          expect(type, label).toMatch(/^text\/event-stream/)
          await response.body?.cancel()
          continue
        }
        if (types.includes('application/json')) {
          expect(type, label).toMatch(/^application\/json/)
          const problems = checkSchema(await response.json(), documented.content['application/json'].schema, doc)
          expect(problems, label).toEqual([])
        } else {
          if (types.includes('text/plain')) expect(type, label).toMatch(/^text\/plain/)
          if (types.includes('video/*')) expect(type, label).toMatch(/^video\//)
          for (const header of Object.keys(documented.headers ?? {})) expect(response.headers.get(header), `${label}: ${header}`).not.toBeNull()
          await response.body?.cancel()
        }
      }
    }
  })

  it('the documented examples are answers the API gives', async () => {
    const example = doc.paths['/status'].get.responses['200'].content['application/json'].example
    expect(checkSchema(example, doc.paths['/status'].get.responses['200'].content['application/json'].schema, doc)).toEqual([])
    expect(checkSchema(doc.components.schemas.Stats.example, doc.components.schemas.Stats, doc)).toEqual([])
    expect(checkSchema(doc.components.schemas.DownloadReply.example, doc.components.schemas.DownloadReply, doc)).toEqual([])
    // and the live answers have the same keys as the examples
    const status = await (await bridge.api('/status')).json()
    expect(Object.keys(status[NAME]).sort()).toEqual(Object.keys(example['video_1234567890.mp4']).sort())
  })
})
