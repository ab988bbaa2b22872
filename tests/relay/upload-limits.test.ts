import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../helpers/relay'
import { SAMPLE } from './helpers'

/**
 * Issue 16, row 5, against a real relay (createRelay, the config's
 * defaults unless said): `POST /upload` from a page on another origin, and
 * 200 uploads at once from one address. Before, every one was a 201 and a
 * new file in `library/`.
 */

interface Reply { status: number, headers: IncomingHttpHeaders, body: string }

/** The library's files (no dot-folder) and what is left in its uploads folder. */
async function folders (r: TestRelay): Promise<{ library: string[], uploads: string[] }> {
  const library = (await readdir(r.relay.library.dir)).filter(n => !n.startsWith('.')).sort()
  const uploads = await readdir(r.relay.library.uploadsDir).catch(() => [])
  return { library, uploads }
}

/**
 * A raw upload whose body is sent only up to `sendFirst` bytes until
 * `finish()`: shows what the relay answers before it has the body. Resolves
 * `reply` when an answer comes; `closed` when the relay closes the socket.
 */
function heldUpload (port: number, headers: Record<string, string>, body: Buffer, sendFirst: number, localAddress = '127.0.0.1'): { reply: Promise<Reply>, closed: Promise<void>, finish(): void } {
  const req = request({ host: '127.0.0.1', port, localAddress, method: 'POST', path: '/upload?name=held.mp4', agent: false, headers: { 'content-type': 'video/mp4', 'content-length': String(body.byteLength), ...headers } })
  const closed = new Promise<void>(resolve => { req.on('socket', s => { s.once('close', () => { resolve() }) }) })
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }) })
    })
    req.on('error', reject)
  })
  req.write(body.subarray(0, sendFirst))
  return { reply, closed, finish: () => { req.end(body.subarray(sendFirst)) } }
}

/** A whole upload, raw or chunked (no Content-Length when `chunked`). */
async function upload (port: number, body: Buffer, headers: Record<string, string> = {}, options: { chunked?: boolean, localAddress?: string } = {}): Promise<Reply> {
  return await new Promise<Reply>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      localAddress: options.localAddress,
      method: 'POST',
      path: '/upload?name=clip.mp4',
      agent: false,
      headers: { 'content-type': 'video/mp4', ...(options.chunked === true ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.byteLength) }), ...headers }
    }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }) })
    })
    req.on('error', reject)
    if (options.chunked === true) {
      for (let i = 0; i < body.byteLength; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024))
      req.end()
    } else {
      req.end(body)
    }
  })
}

const portOf = (r: TestRelay): number => Number(new URL(r.relay.httpUrl()).port)

/** The answer to a held upload, which must come while its body is held (a relay that waits for the body never answers). */
async function answerWhileHeld (held: { reply: Promise<Reply> }): Promise<Reply> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('no answer within 15 s while the body was held: the relay waits for it')) }, 15_000) })
  try {
    return await Promise.race([held.reply, deadline])
  } finally {
    clearTimeout(timer)
  }
}

describe('POST /upload: only the relay\'s own pages, and programs', () => {
  let r: TestRelay
  let port: number
  const OTHER = 'http://app.example:5173'

  beforeAll(async () => {
    r = await startRelay([], { allowOrigins: [OTHER], uploadsPerHour: 1000, uploadsAtOnce: 50 })
    port = portOf(r)
  })
  afterAll(async () => { await r?.close() })

  it.each([
    ['another site', { origin: 'https://evil.example' }],
    ['another loopback port', { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' }],
    ['the localhost form of another port', { origin: 'http://localhost:1' }],
    ['an opaque origin (sandbox, file://)', { origin: 'null' }],
    ['DNS rebinding (the page\'s own name, resolved to us)', { origin: `http://evil.example:${0}`, host: 'evil.example' }],
    ['a cross-site request without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['a same-site request without Origin', { 'sec-fetch-site': 'same-site' }]
  ])('a browser request from %s: 403 before the body is read, the connection closed, nothing kept', async (_name, headers) => {
    const before = await folders(r)
    const body = randomBytes(4 * 1024 * 1024)
    const held = heldUpload(port, headers, body, 16 * 1024)
    const reply = await answerWhileHeld(held) // with 4 MiB still unsent
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.body)).toEqual({ error: expect.stringContaining('--allow-origin') })
    expect(reply.headers.connection).toBe('close')
    await held.closed
    expect(await folders(r)).toEqual({ ...before, uploads: [] })
  })

  it.each([
    ['the app, as 127.0.0.1', (p: number) => ({ origin: `http://127.0.0.1:${p}`, 'sec-fetch-site': 'same-origin' })],
    ['the app, as localhost', (p: number) => ({ origin: `http://localhost:${p}`, 'sec-fetch-site': 'same-origin' })],
    ['the app, without Origin but same-origin', (_p: number) => ({ 'sec-fetch-site': 'same-origin' })],
    ['an --allow-origin', (_p: number) => ({ origin: OTHER, 'sec-fetch-site': 'cross-site' })],
    ['a program (no Origin, no Sec-Fetch-Site)', (_p: number) => ({})]
  ])('%s: 201, the file in library/', async (_name, headersFor) => {
    const before = await folders(r)
    const reply = await upload(port, randomBytes(50_000), headersFor(port))
    expect(reply.status).toBe(201)
    const { filename } = JSON.parse(reply.body) as { filename: string }
    expect(await folders(r)).toEqual({ library: [...before.library, filename].sort(), uploads: [] })
  })

  it('an --allow-origin page may ask first (preflight) and read the answer; another page\'s preflight is refused', async () => {
    const ask = async (origin: string): Promise<Response> => await fetch(`${r.relay.httpUrl()}/upload`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-filename', 'sec-fetch-site': 'cross-site' }
    })
    const granted = await ask(OTHER)
    expect(granted.status).toBe(204)
    expect(granted.headers.get('access-control-allow-origin')).toBe(OTHER)
    expect(granted.headers.get('access-control-allow-headers')).toMatch(/Content-Type, X-Filename/)
    expect((await ask('https://evil.example')).status).toBe(403)
    const reply = await upload(port, randomBytes(20_000), { origin: OTHER, 'sec-fetch-site': 'cross-site', 'x-filename': 'from-the-proxy.mp4' })
    expect(reply.status).toBe(201)
    expect(reply.headers['access-control-allow-origin']).toBe(OTHER)
  })
})

describe('POST /upload: per-address quotas', () => {
  it('200 uploads at once from one address, default limits: 429 with Retry-After past them; library/ gains only the accepted ones', async () => {
    const r = await startRelay([])
    try {
      const [uploadsAtOnce, uploadsPerHour] = [2, 30] // the documented defaults (config.test.ts)
      const before = await folders(r)
      const replies = await Promise.all(Array.from({ length: 200 }, async () => await upload(portOf(r), randomBytes(8 * 1024))))
      const created = replies.filter(x => x.status === 201)
      const refused = replies.filter(x => x.status === 429)
      expect(created.length + refused.length).toBe(200)
      expect(created.length).toBeGreaterThanOrEqual(uploadsAtOnce)
      expect(created.length).toBeLessThanOrEqual(uploadsPerHour)
      for (const x of refused) {
        expect(Number(x.headers['retry-after'])).toBeGreaterThanOrEqual(1)
        expect(JSON.parse(x.body)).toEqual({ error: expect.stringMatching(/under way|in the last hour/) })
      }
      const after = await folders(r)
      expect(after.uploads).toEqual([])
      expect(after.library.length - before.library.length).toBe(created.length)
      expect(r.relay.library.size).toBe(created.length)
    } finally {
      await r.close()
    }
  })

  it('two uploads under way take one address\'s slots: a third waits (429, Retry-After 10) before its body, another address does not', async () => {
    const r = await startRelay([], { uploadsAtOnce: 2 })
    try {
      const port = portOf(r)
      const body = randomBytes(300_000)
      const held = [heldUpload(port, {}, Buffer.from(body), 1000), heldUpload(port, {}, randomBytes(300_000), 1000)]
      // the relay has taken both once their partial files exist
      await expect.poll(async () => (await folders(r)).uploads.length).toBe(2)
      const third = heldUpload(port, {}, randomBytes(300_000), 1000)
      const reply = await answerWhileHeld(third)
      expect(reply.status).toBe(429)
      expect(reply.headers['retry-after']).toBe('10')
      third.finish()
      // 127.0.0.2 is another address (loopback answers all of 127/8)
      expect((await upload(port, randomBytes(20_000), {}, { localAddress: '127.0.0.2' })).status).toBe(201)
      for (const h of held) h.finish()
      expect((await Promise.all(held.map(async h => (await h.reply).status)))).toEqual([201, 201])
      expect((await upload(port, randomBytes(20_000))).status).toBe(201)
      expect((await folders(r)).library).toHaveLength(4)
    } finally {
      await r.close()
    }
  })

  it('bytes per hour: a Content-Length past what is left is a 429 before the body; a chunked body passing it, a 429 with its partial file removed', async () => {
    const r = await startRelay([], { uploadBytesPerHour: 1_000_000 })
    try {
      const port = portOf(r)
      expect((await upload(port, randomBytes(600_000))).status).toBe(201)
      const before = await folders(r)
      const held = heldUpload(port, {}, randomBytes(500_000), 1000)
      const early = await answerWhileHeld(held)
      expect(early.status).toBe(429)
      expect(JSON.parse(early.body).error).toMatch(/too much in an hour/)
      expect(Number(early.headers['retry-after'])).toBeGreaterThan(3500)
      held.finish()
      const streamed = await upload(port, randomBytes(500_000), {}, { chunked: true })
      expect(streamed.status).toBe(429)
      expect(await folders(r)).toEqual({ ...before, uploads: [] })
      // the bytes it sent before the refusal count: nothing is left this hour; another address has its own
      expect((await upload(port, randomBytes(1000))).status).toBe(429)
      expect((await upload(port, randomBytes(300_000), {}, { localAddress: '127.0.0.2' })).status).toBe(201)
    } finally {
      await r.close()
    }
  })
})

describe('POST /upload: the library\'s disk budget', () => {
  it('507 when the Content-Length does not fit (before the body), or once a streamed body passes it (partial removed); uploads under way count', async () => {
    const sample = await readFile(SAMPLE)
    const r = await startRelay([{ name: 'sample.mp4', bytes: sample }], { maxLibraryBytes: sample.byteLength + 1_000_000 })
    try {
      const port = portOf(r)
      const before = await folders(r)
      const held = heldUpload(port, {}, randomBytes(1_000_001), 1000)
      const early = await answerWhileHeld(held)
      expect(early.status).toBe(507)
      expect(JSON.parse(early.body).error).toMatch(/library is full/)
      held.finish()
      expect((await upload(port, randomBytes(1_200_000), {}, { chunked: true })).status).toBe(507)
      expect(await folders(r)).toEqual({ ...before, uploads: [] })

      // two that fit alone but not together: the second is refused while the first is under way
      const first = heldUpload(port, {}, randomBytes(600_000), 1000)
      await expect.poll(async () => (await folders(r)).uploads.length).toBe(1)
      expect((await upload(port, randomBytes(600_000))).status).toBe(507)
      first.finish()
      expect((await first.reply).status).toBe(201)
      // and once it is in the library, it counts there
      expect((await upload(port, randomBytes(600_000))).status).toBe(507)
      expect((await upload(port, randomBytes(300_000))).status).toBe(201)
    } finally {
      await r.close()
    }
  })
})
